// Commander flags -> a typed run spec. The only place that knows how the command line spells things.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { either as E } from 'fp-ts';
import { type Failure, shippedZoos, usageFailure } from '@densepure/app-kit';
import {
  type CertifyMode,
  DEFAULT_P0,
  type Method,
  type MethodKind,
  type MethodSetting,
  type ModelsSpec,
  type RunSpec,
  type Setting,
  METHOD_KINDS,
  METHOD_SETTINGS,
  isMethodKind,
  methodEntry,
  parseMethodSettings,
  cascadeRadiiUpTo,
  radiiUpTo,
  runErrorMessage,
} from '@densepure/runner';

export const parseNumber = (name: string) => (value: string): number => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got '${value}'`);
  return n;
};

export const parseWhole = (name: string, min = 0) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number >= ${min}, got '${value}'`);
  return n;
};

/** A comma-separated list of numbers (their order and sign are the runner's to check). */
export const parseNumberList = (name: string) => (value: string): number[] => {
  const parts = value.split(',').map((p) => p.trim());
  const numbers = parts.map(Number);
  const bad = parts.findIndex((p, i) => p === '' || !Number.isFinite(numbers[i]));
  if (bad >= 0) throw new InvalidArgumentError(`${name} must be a comma-separated list of numbers (e.g. 0.25,0.5,0.75,1), got '${value}'`);
  return numbers;
};

/** How a run spec's settings are spelled here, for the runner's error messages (`maxRadius` is `--max-radius`). */
export const flagOf = (setting: Setting): string => settingFlag(setting);

/** The shipped zoos' names as help text lists them ('default' is the shipped MNIST zoo). */
const zooNames = Object.keys(shippedZoos).map((name) => `'${name}'`).join(', ');

/** Model, backend and dataset flags shared by certify, predict and denoise. A zoo's name means that zoo's file. */
export function addModelOptions(cmd: Command): Command {
  return cmd
    .option('--denoiser <spec>', `diffusion model: path to .onnx/manifest, 'backend:path', a shipped zoo (${zooNames}; 'default' is MNIST) or 'none' (plain smoothing)`, 'default')
    .option('--classifier <spec>', `classifier: path to .onnx/manifest, 'backend:path' or a shipped zoo (${zooNames})`, 'default')
    .option('--dataset <spec>', `dataset: DPDS .bin, IDX ('idx:<file|dir>'), 'cifar10:<file|dir>', 'folder:<dir>' (one sub-folder per class) or a shipped zoo's test split (${zooNames})`, 'default')
    .option('--backend <name>', 'backend for both models (onnx, tfjs); default: the highest-priority backend that loads them')
    .option('--device <device>', 'device for the backend: onnx: cpu | cuda; tfjs: wasm | cpu | tfjs-node | tfjs-node-gpu | webgpu[:vulkan|opengles|...]')
    .option('--workers <n>', 'worker threads with one model session each (0 = run in the main thread)', parseWhole('--workers', 0), 0)
    .option('--threads <n>', 'intra-op threads per session (default: all cores, or cores / workers)', parseWhole('--threads', 1));
}

/** The method run when no flag names one. */
const DEFAULT_METHOD: MethodKind = 'densepure';

/** A method setting's flag: its name as users know it (`--K`, `--steps`, `--spacing`), camelCase as kebab-case. */
export const settingFlag = (name: string): string => `--${name.replace(/([a-z0-9])([A-Z])/g, (_, a: string, b: string) => `${a}-${b.toLowerCase()}`)}`;

/** A flag's text as the setting's value: a number when it reads as one and the setting takes it, else the text. */
function parseSettingFlag(setting: MethodSetting, text: string): unknown {
  const n = Number(text);
  const attempts = text.trim() !== '' && Number.isFinite(n) ? [setting.parse(n), setting.parse(text)] : [setting.parse(text)];
  const ok = attempts.find(E.isRight);
  if (ok !== undefined) return ok.right;
  const [first] = attempts;
  throw new InvalidArgumentError(`${settingFlag(setting.name)} ${E.isLeft(first!) ? first.left : 'is not valid'}, got '${text}'`);
}

/** One flag per setting of the method table, with the setting's description, default and check. */
function settingOption(setting: MethodSetting): Option {
  const option = new Option(`${settingFlag(setting.name)} <${setting.name.toLowerCase()}>`, `${setting.description} (${setting.kinds.join(', ')})`).default(setting.default);
  return setting.choices === undefined ? option.argParser((text) => parseSettingFlag(setting, text)) : option.choices(setting.choices);
}

/** Smoothing / purification flags, named as in Cohen et al.'s and DensePure's code; each method setting is a flag. */
export function addMethodOptions(cmd: Command): Command {
  cmd
    .option('--sigma <s>', 'noise level in [0,1] pixel units (the model sees 2*sigma)', parseNumber('--sigma'), 0.5)
    .addOption(new Option('--method <kind>', `how a noise draw becomes a label (default: ${DEFAULT_METHOD}; smoothing with --denoiser none, dds with --one-shot)`).choices(METHOD_KINDS));
  for (const setting of METHOD_SETTINGS) cmd.addOption(settingOption(setting));
  return cmd
    .option('--one-shot', 'one-shot denoise x0 = f(x_t*, eps) instead of a reverse chain (Carlini et al.): --method dds', false)
    .option('--seed <n>', 'seed of the counter-based RNG: same seed, same noise, whatever the batch or workers', parseWhole('--seed', 0), 0)
    .option('--batch <n>', 'images per model call', parseWhole('--batch', 1), 64)
    .addOption(new Option('--variance <mode>', 'reverse-step variance (default: learned-range if the model learns it, else fixed-large)').choices(['learned-range', 'fixed-small', 'fixed-large']))
    .addOption(
      new Option('--t-star <rule>', "t* for sigma: 'nearest' noise level (default), 'densepure' (DensePure's code: its closed form on cosine schedules, nearest on linear) or 'dds' (Carlini et al.: first t at or above 2 sigma)").choices(['nearest', 'densepure', 'dds']),
    );
}

export interface ModelFlags {
  readonly denoiser: string;
  readonly classifier: string;
  readonly dataset: string;
  readonly backend?: string;
  readonly device?: string;
  readonly workers: number;
  readonly threads?: number;
}

/** Besides these, each setting of the method table comes under its own name (`K`, `steps`, `spacing`). */
export interface MethodFlags {
  readonly sigma: number;
  readonly method?: string;
  readonly oneShot: boolean;
  readonly seed: number;
  readonly batch: number;
  readonly variance?: string;
  readonly tStar?: string;
  readonly skip: number;
  readonly max?: number;
}

const usage = (message: string): E.Either<Failure, never> => E.left(usageFailure(message));

/** Sequential and cascade CERTIFY's flags (certify only). */
export function addModeOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--mode <mode>',
        "'fixed': N draws for every image (Cohen et al.); 'sequential': draws in rounds until --radii are certified or out of reach, at most --N (default: sequential when --radii or --max-radius is given); 'cascade': smoothing over --sigmas, largest first, answering at the first sigma whose top class is above --p0 (default: cascade when --sigmas is given)",
      ).choices(['fixed', 'sequential', 'cascade']),
    )
    .option('--radii <list>', 'sequential: the radii to certify, increasing, e.g. 0.25,0.5,0.75,1 (--N is then the cap on estimation draws)', parseNumberList('--radii'))
    .option('--max-radius <r>', 'sequential: certify up to this radius (radii 0.25, 0.5, ... below it, then it)', parseNumber('--max-radius'))
    .option('--group <n>', 'sequential: images certified at once, their model calls merged into full batches (speed only; default 8)', parseWhole('--group', 1))
    .addOption(
      new Option(
        '--selection <rule>',
        "sequential (and a sequential cascade's stages): how the top class is picked within --N0 draws: 'adaptive' stops at the first look where the leading class is a clear majority (at level --alpha; --N0 is the cap), 'fixed' uses all --N0 (default adaptive; neither changes the certificate's level)",
      ).choices(['adaptive', 'fixed']),
    )
    .option('--futility <level>', "sequential: a budget for images on a threshold: give up on the next radius once the level's upper confidence sequence is below it (default --alpha); per image, such a stop loses a radius its true pA reaches with probability at most <level> (recorded per row in the .cost file)", parseNumber('--futility'))
    .option('--sigmas <list>', "cascade: the noise levels, strictly decreasing, e.g. 1,0.5,0.25, each with its own t* (the run's sigma is the first; with --radii each stage is sequential)", parseNumberList('--sigmas'))
    .option('--p0 <p>', `cascade: a sigma answers when its top class's probability is above p0, in [0.5, 1) (default ${DEFAULT_P0})`, parseNumber('--p0'));
}

export interface ModeFlags {
  readonly mode?: 'fixed' | 'sequential' | 'cascade';
  readonly radii?: number[];
  readonly maxRadius?: number;
  readonly group?: number;
  readonly selection?: 'adaptive' | 'fixed';
  readonly futility?: number;
  readonly sigmas?: number[];
  readonly p0?: number;
}

/** What `--max-radius` is checked against before its radii are listed: what the run can certify at all. */
export interface ReachFlags {
  readonly sigma: number;
  readonly N0: number;
  readonly N: number;
  readonly alpha: number;
}

/** Fixed N (the default), sequential or a cascade; flags of another mode, or a mode without what it needs, is a usage error. */
export function modeFromFlags(flags: ModeFlags & ReachFlags): E.Either<Failure, CertifyMode> {
  if (flags.mode === 'cascade' || (flags.mode === undefined && flags.sigmas !== undefined)) return cascadeFromFlags(flags);
  const cascadeFlags = [flags.sigmas === undefined ? null : '--sigmas', flags.p0 === undefined ? null : '--p0'].filter((f) => f !== null);
  if (cascadeFlags.length > 0) {
    const these = `${cascadeFlags.join(' and ')} ${cascadeFlags.length > 1 ? 'apply' : 'applies'} to a cascade only`;
    return usage(flags.mode === undefined ? `${these}: give the cascade's --sigmas too, or drop --p0` : `${these}: drop ${cascadeFlags.length > 1 ? 'them' : 'it'}, or use --mode cascade`);
  }
  const given = [
    flags.radii === undefined ? null : '--radii',
    flags.maxRadius === undefined ? null : '--max-radius',
    flags.group === undefined ? null : '--group',
    flags.selection === undefined ? null : '--selection',
    flags.futility === undefined ? null : '--futility',
  ].filter((f) => f !== null);
  if (flags.mode === 'fixed' || (flags.mode === undefined && flags.radii === undefined && flags.maxRadius === undefined)) {
    if (given.length > 0) return usage(`${given.join(' and ')} ${given.length > 1 ? 'apply' : 'applies'} to sequential certification only: drop ${given.length > 1 ? 'them' : 'it'} for fixed N, or give --radii (or --max-radius) without --mode fixed`);
    return E.right({ kind: 'fixed' });
  }
  if (flags.radii !== undefined && flags.maxRadius !== undefined) return usage('give --radii or --max-radius, not both');
  if (flags.radii === undefined && flags.maxRadius === undefined) return usage('--mode sequential needs the radii to certify: --radii 0.25,0.5,... or --max-radius R');
  if (flags.maxRadius !== undefined && !(flags.maxRadius > 0)) return usage(`--max-radius must be a number > 0, got ${flags.maxRadius}`);
  const radii = flags.radii === undefined ? radiiUpTo(flags.maxRadius!, { sigma: flags.sigma, n0: flags.N0, n: flags.N, alpha: flags.alpha }) : E.right(flags.radii);
  if (E.isLeft(radii)) return usage(runErrorMessage(radii.left, flagOf));
  return E.right({
    kind: 'sequential',
    radii: radii.right,
    ...(flags.group === undefined ? {} : { group: flags.group }),
    ...(flags.selection === undefined ? {} : { selection: flags.selection }),
    ...(flags.futility === undefined ? {} : { futility: flags.futility }),
  });
}

/** A cascade over --sigmas at --p0; with --radii (or --max-radius) each stage is sequential. The runner checks the numbers. */
function cascadeFromFlags(flags: ModeFlags & ReachFlags): E.Either<Failure, CertifyMode> {
  if (flags.sigmas === undefined) return usage('--mode cascade needs its noise levels, largest first: --sigmas 1,0.5,0.25');
  for (const [flag, value] of [['--group', flags.group], ['--futility', flags.futility]] as const) {
    if (value !== undefined) return usage(`${flag} applies to sequential certification only, not to a cascade: drop ${flag}`);
  }
  if (flags.radii !== undefined && flags.maxRadius !== undefined) return usage('give --radii or --max-radius, not both');
  if (flags.maxRadius !== undefined && !(flags.maxRadius > 0)) return usage(`--max-radius must be a number > 0, got ${flags.maxRadius}`);
  let radii: readonly number[] | undefined = flags.radii;
  if (radii === undefined && flags.maxRadius !== undefined) {
    const listed = cascadeRadiiUpTo(flags.maxRadius, flags.sigmas, { n0: flags.N0, n: flags.N, alpha: flags.alpha });
    if (E.isLeft(listed)) return usage(runErrorMessage(listed.left, flagOf));
    radii = listed.right;
  }
  if (flags.selection !== undefined && radii === undefined) return usage('--selection applies to a sequential cascade only: give --radii or --max-radius, or drop --selection');
  return E.right({ kind: 'cascade', sigmas: flags.sigmas, p0: flags.p0 ?? DEFAULT_P0, ...(radii === undefined ? {} : { radii }), ...(flags.selection === undefined ? {} : { selection: flags.selection }) });
}

/**
 * The run's sigma: --sigma, or for a cascade its first (largest) sigma, which --sigma may only repeat.
 * `sigmaGiven`: --sigma was on the command line (its default stands for nothing in a cascade).
 */
export function sigmaFromFlags(flags: { readonly sigma: number }, mode: CertifyMode, sigmaGiven: boolean): E.Either<Failure, number> {
  if (mode.kind !== 'cascade' || mode.sigmas[0] === undefined) return E.right(flags.sigma);
  const first = mode.sigmas[0];
  if (sigmaGiven && flags.sigma !== first) return usage(`--sigma ${flags.sigma} is not the cascade's first sigma ${first}: a cascade runs at its --sigmas, largest first; drop --sigma`);
  return E.right(first);
}

/** `--max-draws-per-job`: only with `--queue`, and only for fixed N (a sequential image decides after each round, a cascade after each stage). */
export function drawSplitFromFlags(flags: { readonly queue?: string; readonly maxDrawsPerJob?: number }, mode: CertifyMode): E.Either<Failure, number | undefined> {
  if (flags.maxDrawsPerJob === undefined) return E.right(undefined);
  if (flags.queue === undefined) return usage('--max-draws-per-job splits queued jobs: give --queue redis://HOST:PORT/DB too, or drop it');
  if (mode.kind === 'sequential') return usage('--max-draws-per-job applies to fixed N only: sequential certification decides after each round of draws, so each image is one job; drop --max-draws-per-job');
  if (mode.kind === 'cascade') return usage('--max-draws-per-job applies to fixed N only: a cascade draws at a sigma only when the one before it was skipped, so each image is one job; drop --max-draws-per-job');
  return E.right(flags.maxDrawsPerJob);
}

/**
 * The method the flags name: `--method`, else `--denoiser none` is plain smoothing, `--one-shot` DDS, and DensePure
 * the default; its settings come from their flags. A setting the method does not take is refused unless it is left
 * at its default.
 */
export function methodFromFlags(flags: MethodFlags & Pick<ModelFlags, 'denoiser'>): E.Either<Failure, Method> {
  const noDenoiser = flags.denoiser === 'none';
  if (flags.method !== undefined && !isMethodKind(flags.method)) return usage(`--method must be one of ${METHOD_KINDS.join(', ')}, got '${flags.method}'`);
  if (flags.method !== undefined && flags.oneShot && flags.method !== 'dds') return usage(`--one-shot means --method dds: drop --one-shot or --method ${flags.method}`);
  const kind = flags.method ?? (flags.oneShot ? 'dds' : noDenoiser ? 'smoothing' : DEFAULT_METHOD);
  const chosenBy = flags.method !== undefined ? `--method ${kind}` : flags.oneShot ? '--one-shot (dds)' : noDenoiser ? '--denoiser none (plain smoothing)' : kind;
  if (noDenoiser && methodEntry(kind).needsDenoiser) return usage(`${flags.oneShot ? '--one-shot' : chosenBy} needs a denoiser; drop --denoiser none`);
  // Commander keeps each setting's flag under the setting's own name.
  const values = flags as unknown as Readonly<Record<string, unknown>>;
  const settings: Record<string, unknown> = {};
  for (const setting of METHOD_SETTINGS) {
    const value = values[setting.name];
    if (value === undefined) continue;
    if (setting.kinds.includes(kind)) settings[setting.name] = value;
    else if (value !== setting.default) {
      const flag = settingFlag(setting.name);
      return usage(`${flag} ${String(value)} applies to ${setting.kinds.join(' and ')} only, not ${chosenBy}; drop ${flag}`);
    }
  }
  const method = parseMethodSettings(kind, settings);
  if (E.isRight(method)) return method;
  // A rule across settings (each flag's own check passed): name the flag, as commander does for the others.
  const e = method.left;
  return usage(e.kind === 'invalid-method-setting' && e.requirement !== undefined ? `${settingFlag(e.setting)} ${e.requirement}, got '${String(settings[e.setting])}'` : e.message);
}

export const modelsFromFlags = (o: ModelFlags): ModelsSpec => ({
  denoiser: o.denoiser,
  classifier: o.classifier,
  workers: o.workers,
  ...(o.backend === undefined ? {} : { backend: o.backend }),
  ...(o.device === undefined ? {} : { device: o.device }),
  ...(o.threads === undefined ? {} : { threads: o.threads }),
});

/** Everything of a RunSpec but its runs and draws: models, slice, sigma, seed, batch, variance. */
export const baseSpecFromFlags = (o: ModelFlags & MethodFlags): Omit<RunSpec, 'runs' | 'n0' | 'n' | 'alpha'> => ({
  models: modelsFromFlags(o),
  dataset: { spec: o.dataset, skip: o.skip, ...(o.max === undefined ? {} : { max: o.max }) },
  sigma: o.sigma,
  seed: o.seed,
  batch: o.batch,
  ...(o.variance === undefined ? {} : { variance: o.variance as NonNullable<RunSpec['variance']> }),
  ...(o.tStar === undefined ? {} : { timestepRule: o.tStar as NonNullable<RunSpec['timestepRule']> }),
});
