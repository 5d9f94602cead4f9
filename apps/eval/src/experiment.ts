// The experiment file: a grid of certify runs (method x sigma x backend) over one dataset slice, read from YAML
// or JSON and checked with zod. Errors name the key (as a path like `methods[2].K`) and the allowed values.
import { extname } from 'node:path';
import { either as E } from 'fp-ts';
import YAML from 'yaml';
import { z } from 'zod';
import { readLocalText } from '@densepure/backend';
import { checkCascadeRadii, validateCascadeSettings, validateSequentialOptions } from '@densepure/core';
import {
  type CascadeMode,
  type CertifyMode,
  type Method,
  type MethodKind,
  DEFAULT_GROUP,
  DEFAULT_P0,
  METHOD_KINDS,
  methodEntry,
  methodSlug,
  parseMethodSettings,
  cascadeRadiiUpTo,
  radiiUpTo,
  runErrorMessage,
} from '@densepure/runner';

export { METHOD_KINDS, type MethodKind };
export const VARIANCE_MODES = ['learned-range', 'fixed-small', 'fixed-large'] as const;

const keysOf = (shape: Record<string, unknown>): string => Object.keys(shape).join(', ');

/** A strict object whose unknown-key error lists the keys it allows. */
const strict = <S extends z.ZodRawShape>(shape: S) =>
  z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}; allowed keys: ${keysOf(shape)}` : undefined),
  });

const whole = (min: number) =>
  z.number({ error: `must be a whole number >= ${min}` }).int({ error: `must be a whole number >= ${min}` }).min(min, { error: `must be a whole number >= ${min}` });

const positive = z.number({ error: 'must be a number > 0' }).positive({ error: 'must be a number > 0' }).finite({ error: 'must be a finite number > 0' });

/** A single value or a list of values (each expanded into its own grid cells). */
const oneOrMany = <T extends z.ZodType>(item: T) =>
  z.union([item, z.array(item).min(1, { error: 'must not be an empty list' })], {
    error: (issue) => (issue.code === 'invalid_union' ? `${issue.errors[0]?.[0]?.message ?? 'is not valid'} or a non-empty list of them` : undefined),
  });

/** A method of the table as written in an experiment: its kind and its settings, each one value or a list. */
const methodOf = (kind: MethodKind) =>
  strict({ kind: z.literal(kind), ...Object.fromEntries(Object.entries(methodEntry(kind).settings.shape).map(([name, setting]) => [name, oneOrMany(setting as z.ZodType)])) });

const [firstKind, ...otherKinds] = METHOD_KINDS;

const methodSchema = z.preprocess(
  // `- smoothing` is short for `- kind: smoothing`.
  (v) => (typeof v === 'string' ? { kind: v } : v),
  z.discriminatedUnion('kind', [methodOf(firstKind!), ...otherKinds.map(methodOf)], {
    error: (issue) => (issue.code === 'invalid_union' ? `must be one of ${METHOD_KINDS.join(', ')} (as 'kind' of a method, or the method name alone)` : issue.code === 'invalid_type' ? `a method must be one of ${METHOD_KINDS.join(', ')} or an object with 'kind'` : undefined),
  }),
);

const backendName = z.string({ error: "must be a backend name such as 'onnx', 'tfjs' or 'auto'" }).regex(/^[a-z][a-z0-9-]*$/, { error: "must be a backend name such as 'onnx', 'tfjs' or 'auto'" });

/** A value for every sigma, or a map from sigma (as written in `sigmas`) to its own value. */
const perSigma = <T extends z.ZodType>(item: T, what: string) =>
  z.union([item, z.record(z.string(), item)], { error: `must be ${what}, or a map from each sigma to ${what}` });

const radiiList = z.array(positive, { error: 'must be a list of radii > 0' }).min(1, { error: 'must list at least one radius' });

/**
 * Sequential CERTIFY (@densepure/runner `CertifyMode`): draws in rounds until the radii are certified or out of
 * reach, with `certify.N` as the cap on estimation draws. `radii` (or `maxRadius`, standing for 0.25, 0.5, ... up
 * to it) for every sigma, or per sigma: `radii: { 0.25: [0.25, 0.5], 0.5: [0.25, 0.5, 0.75, 1] }`.
 */
const sequentialSchema = strict({
  radii: perSigma(radiiList, 'a list of increasing radii > 0').optional(),
  maxRadius: perSigma(positive, 'a radius > 0').optional(),
  /** Images certified at once, their model calls merged into full batches (speed only). */
  group: whole(1).optional(),
  /** How the top class is picked within N0 draws: 'adaptive' (the default) or 'fixed' (all N0). */
  selection: z.enum(['adaptive', 'fixed']).optional(),
  /** The futility budget: level of the give-up stops, in (0, 1) (default: alpha). */
  futility: z.number().gt(0).lt(1).optional(),
});

/**
 * Cascaded smoothing (@densepure/runner `CascadeMode`): one more cell per method and backend that certifies over
 * `sigmas` (strictly decreasing; the cell's sigma is the first), answering at the first sigma whose top class is
 * above `p0`; with `radii` (or `maxRadius`) each stage is sequential, `certify.N` its cap.
 */
const cascadeSchema = strict({
  sigmas: z.array(positive, { error: 'must be a list of noise levels > 0, largest first' }).min(1, { error: 'must list at least one noise level' }),
  p0: z.number({ error: 'must be a number in [0.5, 1)' }).default(DEFAULT_P0),
  radii: radiiList.optional(),
  maxRadius: positive.optional(),
  /** With radii or maxRadius: how each stage picks its top class within N0 (as certify.sequential.selection). */
  selection: z.enum(['adaptive', 'fixed'], { error: "must be 'adaptive' or 'fixed'" }).optional(),
});

export const experimentSchema = strict({
  /** The results folder's name: results/<name>/<cell id>.tsv. */
  name: z.string({ error: 'must be a name made of letters, digits, . _ -' }).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: 'must be a name made of letters, digits, . _ - (it names the results folder)' }),
  description: z.string({ error: 'must be a string' }).optional(),
  models: strict({
    denoiser: z.string({ error: "must be a model spec (path, 'backend:path' or a shipped zoo: 'default', 'mnist', 'fashion', …)" }).default('default'),
    classifier: z.string({ error: "must be a model spec (path, 'backend:path' or a shipped zoo: 'default', 'mnist', 'fashion', …)" }).default('default'),
    device: z.string({ error: 'must be a device name (onnx: cpu | cuda; tfjs: wasm | cpu | tfjs-node | tfjs-node-gpu)' }).optional(),
  }).default({ denoiser: 'default', classifier: 'default' }),
  dataset: strict({
    spec: z.string({ error: "must be a dataset spec (DPDS .bin, 'idx:…', 'cifar10:…', 'folder:…' or a shipped zoo: 'default', 'mnist', 'fashion', …)" }).default('default'),
    skip: whole(1).default(1),
    max: whole(1).optional(),
  }).default({ spec: 'default', skip: 1 }),
  methods: z.array(methodSchema, { error: `must be a list of methods (${METHOD_KINDS.join(', ')})` }).min(1, { error: `must list at least one method (${METHOD_KINDS.join(', ')})` }),
  sigmas: z.array(positive, { error: 'must be a list of noise levels > 0' }).min(1, { error: 'must list at least one noise level' }),
  backends: z.array(backendName, { error: "must be a list of backend names ('onnx', 'tfjs', or 'auto')" }).min(1, { error: 'must list at least one backend' }).default(['auto']),
  certify: strict({
    N0: whole(1).default(100),
    N: whole(1).default(1000),
    alpha: z.number({ error: 'must be a number in (0, 1)' }).gt(0, { error: 'must be a number in (0, 1)' }).lt(1, { error: 'must be a number in (0, 1)' }).default(0.001),
    /** Present: sequential CERTIFY (N is the cap); absent: fixed N. */
    sequential: sequentialSchema.optional(),
    /** Present: a cascade cell per method and backend besides the grid's cells. */
    cascade: cascadeSchema.optional(),
  }).default({ N0: 100, N: 1000, alpha: 0.001 }),
  seed: whole(0).default(0),
  batch: whole(1).default(64),
  workers: whole(0).default(0),
  threads: whole(1).optional(),
  variance: z.enum(VARIANCE_MODES, { error: `must be one of ${VARIANCE_MODES.join(', ')}` }).optional(),
  /**
   * Run the cells of one sigma and backend side by side on the same noise draws: every cell's TSV is what it
   * would be alone, but the noise, the denoiser call at t* and DensePure's votes are computed once.
   */
  shareDraws: z.boolean({ error: 'must be true or false' }).default(false),
});

export type Experiment = z.output<typeof experimentSchema>;

export interface Cell {
  /** File stem: `<method slug>_sigma<s>_<backend>`. */
  readonly id: string;
  readonly method: Method;
  readonly sigma: number;
  /** 'auto' lets the backend registry pick. */
  readonly backend: string;
  /** Fixed N (absent), sequential with this sigma's radii, or a cascade (whose first sigma is `sigma`). */
  readonly mode?: CertifyMode;
}

/** The certify mode of an experiment at one sigma (its radii may depend on sigma). */
export function modeAt(x: Experiment, sigma: number): CertifyMode {
  const seq = x.certify.sequential;
  if (seq === undefined) return { kind: 'fixed' };
  const at = <T>(v: T | Record<string, T> | undefined): T | undefined =>
    v === undefined || Array.isArray(v) || typeof v !== 'object' || v === null ? (v as T | undefined) : Object.entries(v as Record<string, T>).find(([k]) => Number(k) === sigma)?.[1];
  const radii = at(seq.radii);
  const max = at(seq.maxRadius);
  return {
    kind: 'sequential',
    radii: radii ?? (max === undefined ? [] : maxRadiusRadii(x, sigma, max)),
    group: seq.group ?? DEFAULT_GROUP,
    ...(seq.selection === undefined ? {} : { selection: seq.selection }),
    ...(seq.futility === undefined ? {} : { futility: seq.futility }),
  };
}

/** The radii a checked experiment's maxRadius stands for at one sigma (validateExperiment refused any out of reach). */
function maxRadiusRadii(x: Experiment, sigma: number, max: number): number[] {
  const radii = radiiUpTo(max, { sigma, n0: x.certify.N0, n: x.certify.N, alpha: x.certify.alpha });
  if (E.isLeft(radii)) throw new Error(`a checked experiment's maxRadius was refused: ${radii.left.message}`);
  return radii.right;
}

/** How the runner's sequential settings are written in an experiment file. */
const SEQUENTIAL_KEYS = { radii: 'certify.sequential.radii', maxRadius: 'certify.sequential.maxRadius', N: 'certify.N', group: 'certify.sequential.group' } as Record<string, string>;

function sequentialProblems(x: Experiment): string[] {
  const seq = x.certify.sequential;
  if (seq === undefined) return [];
  if ((seq.radii === undefined) === (seq.maxRadius === undefined)) return ['  certify.sequential: give radii or maxRadius (exactly one of them)'];
  const problems: string[] = [];
  for (const [key, v] of [['radii', seq.radii], ['maxRadius', seq.maxRadius]] as const) {
    if (v === undefined || Array.isArray(v) || typeof v !== 'object') continue;
    const keys = Object.keys(v);
    const missing = x.sigmas.filter((s) => !keys.some((k) => Number(k) === s));
    const extra = keys.filter((k) => !x.sigmas.includes(Number(k)));
    if (missing.length > 0) problems.push(`  certify.sequential.${key}: no entry for sigma ${missing.join(', ')}`);
    if (extra.length > 0) problems.push(`  certify.sequential.${key}: ${extra.map((k) => `'${k}'`).join(', ')} is not one of the sigmas (${x.sigmas.join(', ')})`);
  }
  if (problems.length > 0) return problems;
  for (const sigma of x.sigmas) {
    // maxRadius is checked against what can be certified before its radii are listed (1e9 would be billions).
    const max = seq.maxRadius === undefined ? undefined : typeof seq.maxRadius === 'number' ? seq.maxRadius : Object.entries(seq.maxRadius).find(([k]) => Number(k) === sigma)?.[1];
    const reach = max === undefined ? E.right([]) : radiiUpTo(max, { sigma, n0: x.certify.N0, n: x.certify.N, alpha: x.certify.alpha });
    if (E.isLeft(reach)) {
      problems.push(`  sigma ${sigma}: ${runErrorMessage(reach.left, (s) => SEQUENTIAL_KEYS[s] ?? s)}`);
      continue;
    }
    const mode = modeAt(x, sigma);
    if (mode.kind !== 'sequential') continue;
    const checked = validateSequentialOptions({ sigma, n0: x.certify.N0, nMax: x.certify.N, alpha: x.certify.alpha, radii: mode.radii, numClasses: 2, batchSize: 1 });
    if (checked._tag === 'Left') {
      const message = runErrorMessage({ kind: 'sequential-setting', error: checked.left, message: checked.left.message }, (s) => SEQUENTIAL_KEYS[s] ?? s);
      problems.push(`  sigma ${sigma}: ${message}`);
    }
  }
  return problems;
}

/** How the runner's cascade settings are written in an experiment file. */
const CASCADE_KEYS = { sigmas: 'certify.cascade.sigmas', p0: 'certify.cascade.p0', radii: 'certify.cascade.radii', maxRadius: 'certify.cascade.maxRadius', selection: 'certify.cascade.selection', N: 'certify.N', alpha: 'certify.alpha' } as Record<string, string>;

/** The radii a cascade's maxRadius stands for (checked against what its largest sigma can reach before they are listed). */
const cascadeMaxRadii = (x: Experiment, max: number, sigmas: readonly number[]) => cascadeRadiiUpTo(max, sigmas, { n0: x.certify.N0, n: x.certify.N, alpha: x.certify.alpha });

/** The cascade's mode, when the experiment has one. */
export function cascadeMode(x: Experiment): CascadeMode | null {
  const c = x.certify.cascade;
  if (c === undefined) return null;
  const listed = c.maxRadius === undefined ? undefined : cascadeMaxRadii(x, c.maxRadius, c.sigmas);
  // validateExperiment refused a maxRadius out of reach.
  if (listed !== undefined && E.isLeft(listed)) throw new Error(`a checked experiment's cascade maxRadius was refused: ${listed.left.message}`);
  const radii = c.radii ?? listed?.right;
  return { kind: 'cascade', sigmas: c.sigmas, p0: c.p0, ...(radii === undefined ? {} : { radii }), ...(c.selection === undefined ? {} : { selection: c.selection }) };
}

function cascadeProblems(x: Experiment): string[] {
  const c = x.certify.cascade;
  if (c === undefined) return [];
  if (c.radii !== undefined && c.maxRadius !== undefined) return ['  certify.cascade: give radii or maxRadius, not both'];
  if (c.selection !== undefined && c.radii === undefined && c.maxRadius === undefined) return ['  certify.cascade.selection: applies to a sequential cascade only (give radii or maxRadius, or drop it)'];
  const checked = validateCascadeSettings({ sigmas: c.sigmas, p0: c.p0, alpha: x.certify.alpha });
  const radii = c.radii === undefined ? null : checkCascadeRadii(c.radii);
  const error = E.isLeft(checked) ? checked.left : radii;
  if (error !== null) return [`  ${runErrorMessage({ kind: 'cascade-setting', error, message: error.message }, (s) => CASCADE_KEYS[s] ?? s)}`];
  const reach = c.maxRadius === undefined ? E.right([]) : cascadeMaxRadii(x, c.maxRadius, c.sigmas);
  return E.isLeft(reach) ? [`  ${runErrorMessage(reach.left, (s) => CASCADE_KEYS[s] ?? s)}`] : [];
}

/** An experiment file that cannot be read, or does not describe a valid grid; `message` names the file and the keys. */
export type ExperimentError =
  | { readonly kind: 'experiment-unreadable'; readonly path: string; readonly message: string }
  | { readonly kind: 'invalid-experiment'; readonly source: string; readonly message: string };

const invalid = (source: string, detail: string): ExperimentError => ({ kind: 'invalid-experiment', source, message: `${source}: ${detail}` });

/** `methods[2].K` style path. */
export const formatPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s === '' ? String(p) : `${s}.${String(p)}`), '') || '(top level)';

const describeValue = (root: unknown, path: readonly PropertyKey[]): string => {
  let v: unknown = root;
  for (const p of path) {
    // `- ddpm` is reported at methods[i].kind: show the string itself.
    if (v === null || typeof v !== 'object') break;
    v = (v as Record<PropertyKey, unknown>)[p as string];
  }
  if (v === undefined) return ' (missing)';
  const text = JSON.stringify(v);
  return text === undefined ? '' : ` (got ${text.length > 60 ? `${text.slice(0, 57)}...` : text})`;
};

const andList = (xs: readonly string[]): string => (xs.length < 2 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs.at(-1)!}`);
const orList = (xs: readonly string[]): string => (xs.length < 2 ? xs.join('') : `${xs.slice(0, -1).join(', ')} or ${xs.at(-1)!}`);

const allows = <T>(xs: readonly T[]): boolean => new Set(xs.map((x) => JSON.stringify(x))).size === xs.length;

/** Checks and expands a parsed document; `source` names the file in messages. */
export function validateExperiment(doc: unknown, source = 'experiment'): E.Either<ExperimentError, Experiment> {
  const parsed = experimentSchema.safeParse(doc);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      // A bad method kind is reported at methods[i].kind; a value inside a list element at its own path.
      const path = i.path;
      return `  ${formatPath(path)}: ${i.message}${i.code === 'unrecognized_keys' ? '' : describeValue(doc, path)}`;
    });
    return E.left(invalid(source, `invalid experiment:\n${lines.join('\n')}`));
  }
  const x = parsed.data;
  const problems: string[] = [];
  if (x.certify.N0 > x.certify.N) problems.push(`  certify.N0: must not exceed certify.N (${x.certify.N0} > ${x.certify.N}): N0 draws only pick the class, N draws certify it`);
  if (!allows(x.sigmas)) problems.push(`  sigmas: lists a noise level twice (${JSON.stringify(x.sigmas)})`);
  if (!allows(x.backends)) problems.push(`  backends: lists a backend twice (${JSON.stringify(x.backends)})`);
  const refused = methodProblems(x);
  problems.push(...refused);
  const slugs = refused.length > 0 ? [] : expandMethods(x).map(methodSlug);
  const dup = slugs.find((s, i) => slugs.indexOf(s) !== i);
  if (dup !== undefined) problems.push(`  methods: '${dup}' appears twice`);
  if (x.models.denoiser === 'none' && x.methods.some((m) => methodEntry(m.kind).needsDenoiser)) {
    const needing = METHOD_KINDS.filter((k) => methodEntry(k).needsDenoiser);
    const without = METHOD_KINDS.filter((k) => !methodEntry(k).needsDenoiser);
    problems.push(`  models.denoiser: 'none' leaves ${andList(needing)} without a diffusion model; give a denoiser or list only ${orList(without)}`);
  }
  problems.push(...sequentialProblems(x), ...cascadeProblems(x));
  if (problems.length > 0) return E.left(invalid(source, `invalid experiment:\n${problems.join('\n')}`));
  return E.right(x);
}

const list = (v: unknown): readonly unknown[] => (Array.isArray(v) ? v : [v]);

/** Every combination of one value per setting, the first setting varying slowest. */
const combinations = (settings: readonly (readonly [string, readonly unknown[]])[]): Record<string, unknown>[] =>
  settings.reduce<Record<string, unknown>[]>((combos, [name, values]) => combos.flatMap((c) => values.map((v) => ({ ...c, [name]: v }))), [{}]);

/**
 * Rules across one method's settings (every value passed its own setting's check, e.g. DiffSmooth's sigmaL = 0
 * only with m = 1): each combination of the grid must name a method. The first refused combination of each method.
 */
function methodProblems(x: Experiment): string[] {
  return x.methods.flatMap(({ kind, ...settings }, i) => {
    for (const combo of combinations(Object.entries(settings).map(([name, v]) => [name, list(v)] as const))) {
      const method = parseMethodSettings(kind, combo);
      if (E.isRight(method)) continue;
      const e = method.left;
      if (e.kind !== 'invalid-method-setting' || e.requirement === undefined) return [`  methods[${i}]: ${e.message}`];
      // Which value of each listed setting made the refused combination.
      const listed = Object.entries(settings).filter(([name, v]) => Array.isArray(v) && name !== e.setting);
      const given = listed.length === 0 ? '' : `, with ${listed.map(([name]) => `${name} ${JSON.stringify(combo[name])}`).join(', ')}`;
      return [`  methods[${i}].${e.setting}: ${e.requirement} (got ${JSON.stringify(combo[e.setting])}${given})`];
    }
    return [];
  });
}

/** The grid's methods: a setting given as a list (`K: [1, 5]`) becomes one method per value, over all settings. */
export function expandMethods(x: Experiment): Method[] {
  return x.methods.flatMap(({ kind, ...settings }) =>
    combinations(Object.entries(settings).map(([name, v]) => [name, list(v)] as const)).map((combo) => {
      const method = parseMethodSettings(kind, combo);
      // The schema checked every value; a refusal here is a bug in the method's schema.
      if (E.isLeft(method)) throw new Error(`checked method settings refused: ${method.left.message}`);
      return method.right;
    }),
  );
}

/**
 * The grid in run order: method, then sigma, then backend, each method's cascade cells (one per backend) after its
 * sigmas. Sequential cells' ids end in `_sequential`, never a fixed-N cell's; a cascade cell's id names its sigmas
 * and p0.
 */
export function expandGrid(x: Experiment): Cell[] {
  const suffix = x.certify.sequential === undefined ? '' : '_sequential';
  const cascade = cascadeMode(x);
  return expandMethods(x).flatMap((method) => [
    ...x.sigmas.flatMap((sigma) => x.backends.map((backend) => ({ id: `${methodSlug(method)}_sigma${sigma}_${backend}${suffix}`, method, sigma, backend, mode: modeAt(x, sigma) }))),
    ...(cascade === null
      ? []
      : x.backends.map((backend) => ({
          id: `${methodSlug(method)}_cascade${cascade.sigmas.join('-')}_p0-${cascade.p0}_${backend}${cascade.radii === undefined ? '' : '_sequential'}`,
          method,
          sigma: cascade.sigmas[0]!,
          backend,
          mode: cascade,
        }))),
  ]);
}

/** Parses YAML (or JSON, which is YAML too; `.json` files go through JSON.parse for exact JSON errors). */
export function parseExperimentText(text: string, source: string): E.Either<ExperimentError, Experiment> {
  let doc: unknown;
  if (extname(source).toLowerCase() === '.json') {
    try {
      doc = JSON.parse(text);
    } catch (cause) {
      return E.left(invalid(source, `not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}`));
    }
  } else {
    const parsed = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (parsed.errors.length > 0) {
      return E.left(invalid(source, `not valid YAML: ${parsed.errors.map((e) => e.message).join('; ')}`));
    }
    doc = parsed.toJS();
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    return E.left(invalid(source, `an experiment must be a mapping with keys ${keysOf(experimentSchema.shape)}`));
  }
  return validateExperiment(doc, source);
}

/**
 * Reads and checks an experiment file; an unreadable file is an error naming it. Read as every command reads a
 * file (regular files only: a FIFO is refused at once, a device never read) and at most 16 MiB.
 */
export async function readExperiment(path: string): Promise<E.Either<ExperimentError, Experiment>> {
  const text = await readLocalText(path, { what: 'experiment file', maxBytes: 16 * 2 ** 20, limitReason: 'an experiment file is a short YAML or JSON document' });
  if (E.isLeft(text)) return E.left({ kind: 'experiment-unreadable', path, message: text.left.message });
  return parseExperimentText(text.right, path);
}
