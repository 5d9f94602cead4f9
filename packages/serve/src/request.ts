// An infer request, checked: one image tensor of the model's shape with pixels in [0, 1], and the certify settings
// its parameters ask for, within the server's caps. Every problem comes back as a ServeError naming the field and
// what to send instead; nothing here touches a model.
import { either as E } from 'fp-ts';
import {
  type Method,
  type RunError,
  type RunSpec,
  type Setting,
  METHOD_KINDS,
  METHOD_SETTINGS,
  checkRunSpec,
  needsDenoiser,
  parseMethodSettings,
  radiiUpTo,
  runErrorMessage,
  votesOf,
} from '@densepure/runner';
import { type ServeError, badInput } from './errors.js';
import type { InferInput, InferRequest, ParameterValue } from './protocol.js';

/** What a request may ask for at most; the server's operator sets them. */
export interface ServeLimits {
  /** Most draws (N0 + N) one request may spend. */
  readonly maxDraws: number;
  /** Smallest failure probability a request may ask for. */
  readonly minAlpha: number;
  readonly maxSigma: number;
  /** Most radii in one request. */
  readonly maxRadii: number;
  /** Most votes per draw (DensePure's K, DiffSmooth's m): each multiplies the model calls of a draw. */
  readonly maxVotes: number;
  /** Deadline of a request that gives none, and the largest one it may give (milliseconds from arrival). */
  readonly defaultDeadlineMs: number;
  readonly maxDeadlineMs: number;
}

export const DEFAULT_LIMITS: ServeLimits = { maxDraws: 100_000, minAlpha: 1e-6, maxSigma: 2, maxRadii: 16, maxVotes: 32, defaultDeadlineMs: 60_000, maxDeadlineMs: 600_000 };

/** What a request gets when it does not say: the server's method, sigma, draws and failure probability. */
export interface RequestDefaults {
  readonly method: Method;
  readonly sigma: number;
  readonly n0: number;
  readonly n: number;
  readonly alpha: number;
  /** Absent: a fresh seed per request, reported in the answer (a fixed, public seed lets an input be tuned to its noise). */
  readonly seed?: number;
}

/** A checked request: the image, and how to certify it. */
export interface CertifyJob {
  readonly image: Float32Array;
  readonly method: Method;
  readonly mode: { readonly kind: 'predict' } | { readonly kind: 'fixed' } | { readonly kind: 'sequential'; readonly radii: readonly number[] };
  readonly sigma: number;
  readonly n0: number;
  readonly n: number;
  readonly alpha: number;
  readonly seed: number;
  readonly index: number;
  readonly deadlineMs: number;
}

/** What the served model takes: [channels, height, width], and whether a denoiser is loaded. */
export interface ModelInput {
  readonly shape: readonly [number, number, number];
  readonly hasDenoiser: boolean;
}

const UINT32_MAX = 2 ** 32 - 1;

const SETTING_NAMES = new Set(METHOD_SETTINGS.map((s) => s.name));
const GENERAL = ['method', 'sigma', 'radii', 'max_radius', 'mode', 'alpha', 'n0', 'n', 'seed', 'index', 'deadline_ms'] as const;

/** The runner's setting names as a request spells them. */
const parameterName = (setting: Setting): string => ({ N0: 'n0', N: 'n', maxRadius: 'max_radius' })[setting as string] ?? setting;

const runError = (error: RunError): ServeError => badInput(runErrorMessage(error, parameterName));

type Got<T> = E.Either<ServeError, T>;

function numberParameter(name: string, value: ParameterValue | undefined, whole: boolean, min: number, max: number, hint: string): Got<number | undefined> {
  if (value === undefined) return E.right(undefined);
  const ok = typeof value === 'number' && Number.isFinite(value) && (!whole || Number.isInteger(value)) && value >= min && value <= max;
  return ok ? E.right(value) : E.left(badInput(`parameter ${name} must be ${whole ? 'a whole number' : 'a number'} in [${min}, ${max}]${hint}, got ${JSON.stringify(value)}`));
}

/** The image tensor: exactly one, FP32, shape [1, C, H, W] or [C, H, W], flat data of that length, pixels in [0, 1]. */
export function checkImage(inputs: readonly InferInput[], model: ModelInput): Got<Float32Array> {
  const [c, h, w] = model.shape;
  const want = `[1, ${c}, ${h}, ${w}]`;
  if (inputs.length !== 1) return E.left(badInput(`send exactly one input tensor (the image, shape ${want}), got ${inputs.length}; certify several images with one request each (the server batches them together)`));
  const input = inputs[0]!;
  if (input.datatype !== 'FP32') return E.left(badInput(`input '${input.name}': datatype must be FP32 (pixels in [0, 1]), got '${input.datatype}'`));
  const shape = input.shape;
  const batch = shape.length === 4 ? shape[0]! : 1;
  const image = shape.length === 4 ? shape.slice(1) : shape;
  if (batch !== 1 && image.length === 3 && image[0] === c && image[1] === h && image[2] === w) {
    return E.left(badInput(`input '${input.name}': one image per request (shape ${want}), got a batch of ${batch}; send them as separate requests (the server batches them together)`));
  }
  if (image.length !== 3 || image[0] !== c || image[1] !== h || image[2] !== w) return E.left(badInput(`input '${input.name}': shape must be ${want} (or [${c}, ${h}, ${w}]), got [${shape.join(', ')}]`));
  const size = c * h * w;
  if (input.data.length !== size) return E.left(badInput(`input '${input.name}': data must hold ${size} numbers (${c}x${h}x${w}, flattened row-major), got ${input.data.length}`));
  const pixels = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const v = input.data[i]!;
    if (!(Number.isFinite(v) && v >= 0 && v <= 1)) return E.left(badInput(`input '${input.name}': pixel ${i} is ${String(v)}; pixels must be finite numbers in [0, 1] (divide 8-bit values by 255)`));
    pixels[i] = v;
  }
  return E.right(pixels);
}

/** The method a request names: `method` (default: the server's) with its settings under their own names. */
function methodOf(parameters: Readonly<Record<string, ParameterValue>>, defaults: RequestDefaults, model: ModelInput, limits: ServeLimits): Got<Method> {
  const kind = parameters.method;
  if (kind !== undefined && (typeof kind !== 'string' || !(METHOD_KINDS as readonly string[]).includes(kind))) {
    return E.left(badInput(`parameter method must be one of ${METHOD_KINDS.join(', ')}, got ${JSON.stringify(kind)}`));
  }
  const settings = Object.fromEntries(Object.entries(parameters).filter(([k]) => SETTING_NAMES.has(k)));
  let method: Method = defaults.method;
  if (kind !== undefined || Object.keys(settings).length > 0) {
    const parsed = parseMethodSettings(kind ?? defaults.method.kind, settings);
    if (E.isLeft(parsed)) return E.left(badInput(`parameter ${parsed.left.message}`));
    method = parsed.right;
  }
  if (needsDenoiser(method) && !model.hasDenoiser) return E.left(badInput(`method ${method.kind} needs a diffusion model and this server has none: use method smoothing`));
  if (votesOf(method) > limits.maxVotes) return E.left(badInput(`method ${method.kind} with ${votesOf(method)} votes per draw is above this server's cap of ${limits.maxVotes}: ask fewer`));
  return E.right(method);
}

function radiiOf(text: ParameterValue | undefined, limits: ServeLimits): Got<number[] | undefined> {
  if (text === undefined) return E.right(undefined);
  const parts = typeof text === 'number' ? [String(text)] : typeof text === 'string' ? text.split(',').map((p) => p.trim()) : null;
  const radii = parts?.map(Number);
  if (parts === null || radii === undefined || parts.some((p, i) => p === '' || !Number.isFinite(radii[i]))) {
    return E.left(badInput(`parameter radii must be a comma-separated list of numbers, e.g. "0.25,0.5,1", got ${JSON.stringify(text)}`));
  }
  if (radii.length > limits.maxRadii) return E.left(badInput(`parameter radii lists ${radii.length} radii, above this server's cap of ${limits.maxRadii}`));
  return E.right(radii);
}

/**
 * The certify settings a request's parameters ask for, the server's defaults filling the rest, each checked
 * against the caps and then by the runner's own checks (radii reachable within the cap on draws, N0 <= N, ...).
 */
export function checkParameters(raw: Readonly<Record<string, ParameterValue>>, defaults: RequestDefaults, model: ModelInput, limits: ServeLimits, freshSeed: () => number): Got<Omit<CertifyJob, 'image'>> {
  const unknown = Object.keys(raw).find((k) => !(GENERAL as readonly string[]).includes(k) && !SETTING_NAMES.has(k));
  if (unknown !== undefined) return E.left(badInput(`unknown parameter '${unknown}': known ones are ${[...GENERAL, ...SETTING_NAMES].join(', ')}`));
  const method = methodOf(raw, defaults, model, limits);
  if (E.isLeft(method)) return method;
  const numbers = E.sequenceArray([
    numberParameter('sigma', raw.sigma, false, Number.MIN_VALUE, limits.maxSigma, ''),
    numberParameter('alpha', raw.alpha, false, limits.minAlpha, 0.5, ''),
    numberParameter('n0', raw.n0, true, 1, limits.maxDraws, ''),
    numberParameter('n', raw.n, true, 1, limits.maxDraws, ''),
    numberParameter('seed', raw.seed, true, 0, UINT32_MAX, ''),
    numberParameter('index', raw.index, true, 0, UINT32_MAX, ' (a dataset index gives the noise densepure certify used for that image)'),
    numberParameter('deadline_ms', raw.deadline_ms, true, 1, limits.maxDeadlineMs, ''),
    numberParameter('max_radius', raw.max_radius, false, Number.MIN_VALUE, Number.MAX_VALUE, ''),
  ]);
  if (E.isLeft(numbers)) return numbers;
  const [sigma = defaults.sigma, alpha = defaults.alpha, n0 = defaults.n0, n = defaults.n, seed, index = 0, deadlineMs = limits.defaultDeadlineMs, maxRadius] = numbers.right;
  const listed = radiiOf(raw.radii, limits);
  if (E.isLeft(listed)) return listed;
  if (listed.right !== undefined && maxRadius !== undefined) return E.left(badInput('give parameter radii or max_radius, not both'));
  const modeName = raw.mode ?? (listed.right !== undefined || maxRadius !== undefined ? 'sequential' : 'predict');
  if (modeName !== 'sequential' && modeName !== 'fixed' && modeName !== 'predict') return E.left(badInput(`parameter mode must be sequential, fixed or predict, got ${JSON.stringify(modeName)}`));
  if (modeName !== 'sequential' && (listed.right !== undefined || maxRadius !== undefined)) return E.left(badInput(`radii and max_radius apply to mode sequential, not ${modeName}: drop them or the mode`));
  const draws = modeName === 'predict' ? n : n0 + n;
  if (draws > limits.maxDraws) return E.left(badInput(`${modeName === 'predict' ? 'n' : 'n0 + n'} = ${draws} draws is above this server's cap of ${limits.maxDraws}: ask fewer`));
  let radii: readonly number[] | undefined = listed.right;
  if (modeName === 'sequential' && radii === undefined) {
    if (maxRadius === undefined) return E.left(badInput('mode sequential needs the radii to certify: parameter radii ("0.25,0.5,1") or max_radius'));
    const upTo = radiiUpTo(maxRadius, { sigma, n0, n, alpha });
    if (E.isLeft(upTo)) return E.left(runError(upTo.left));
    radii = upTo.right;
  }
  const mode: CertifyJob['mode'] = modeName === 'sequential' ? { kind: 'sequential', radii: radii! } : { kind: modeName };
  // The runner's own checks of the numbers (the batch and slice are the server's, hence valid).
  const spec: RunSpec = {
    models: { denoiser: '', classifier: '', workers: 0 },
    dataset: { spec: '', skip: 1 },
    runs: [{ method: method.right, out: 'served' }],
    sigma,
    n0: modeName === 'predict' ? 1 : n0,
    n,
    alpha,
    seed: seed ?? 0,
    batch: 1,
    ...(mode.kind === 'sequential' ? { mode: { kind: 'sequential', radii: mode.radii } } : {}),
  };
  const checked = checkRunSpec(spec);
  if (E.isLeft(checked)) return E.left(runError(checked.left));
  return E.right({ method: method.right, mode, sigma, n0, n, alpha, seed: seed ?? defaults.seed ?? freshSeed(), index, deadlineMs });
}

/** The whole request: its image and its settings. */
export function checkRequest(request: InferRequest, defaults: RequestDefaults, model: ModelInput, limits: ServeLimits, freshSeed: () => number): Got<CertifyJob> {
  const image = checkImage(request.inputs, model);
  if (E.isLeft(image)) return image;
  const settings = checkParameters(request.parameters ?? {}, defaults, model, limits, freshSeed);
  return E.isLeft(settings) ? settings : E.right({ ...settings.right, image: image.right });
}
