// Commander flags -> a typed run spec. The only place that knows how the command line spells things.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { either as E } from 'fp-ts';
import type { Failure, Method, ModelsSpec, RunSpec, Setting } from '@densepure/runner';

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

/** How a run spec's settings are spelled here, for the runner's error messages. */
export const flagOf = (setting: Setting): string => `--${setting}`;

/** Model, backend and dataset flags shared by certify, predict and denoise. 'default' means the shipped MNIST zoo. */
export function addModelOptions(cmd: Command): Command {
  return cmd
    .option('--denoiser <spec>', "diffusion model: path to .onnx/manifest, 'backend:path', 'default' (shipped MNIST DDPM) or 'none' (plain smoothing)", 'default')
    .option('--classifier <spec>', "classifier: path to .onnx/manifest, 'backend:path' or 'default' (shipped MNIST CNN)", 'default')
    .option('--dataset <spec>', "dataset: DPDS .bin, 'cifar10:<file|dir>', 'folder:<dir>' (one sub-folder per class) or 'default' (shipped MNIST test split)", 'default')
    .option('--backend <name>', 'backend for both models (onnx, tfjs); default: the highest-priority backend that loads them')
    .option('--device <device>', 'device for the backend: onnx: cpu | cuda; tfjs: wasm | cpu | tfjs-node | tfjs-node-gpu')
    .option('--workers <n>', 'worker threads with one model session each (0 = run in the main thread)', parseWhole('--workers', 0), 0)
    .option('--threads <n>', 'intra-op threads per session (default: all cores, or cores / workers)', parseWhole('--threads', 1));
}

/** Smoothing / purification flags, named as in Cohen et al.'s and DensePure's code. */
export function addMethodOptions(cmd: Command): Command {
  return cmd
    .option('--sigma <s>', 'noise level in [0,1] pixel units (the model sees 2*sigma)', parseNumber('--sigma'), 0.5)
    .option('--K <k>', 'reverse runs (votes) per noise draw; 1 with --one-shot is diffusion denoised smoothing', parseWhole('--K', 1), 1)
    .option('--steps <b>', "reverse chain: 'full' (every step t*..0) or b for a respaced chain of b steps", '10')
    .addOption(new Option('--spacing <spacing>', "respaced timesteps: improved-diffusion's 'uniform', or DensePure's own 'densepure' (t*, t* - t*/b, ...)").choices(['uniform', 'densepure']))
    .option('--one-shot', 'one-shot denoise x0 = f(x_t*, eps) instead of a reverse chain (Carlini et al.)', false)
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

export interface MethodFlags {
  readonly sigma: number;
  readonly K: number;
  readonly steps: string;
  readonly oneShot: boolean;
  readonly seed: number;
  readonly batch: number;
  readonly variance?: string;
  readonly tStar?: string;
  readonly spacing?: string;
  readonly skip: number;
  readonly max?: number;
}

const usage = (message: string): E.Either<Failure, never> => E.left({ kind: 'failure', message, exitCode: 2 });

/** The method the flags name: `--denoiser none` is plain smoothing, `--one-shot` DDS, else DensePure with K votes. */
export function methodFromFlags(flags: MethodFlags & Pick<ModelFlags, 'denoiser'>): E.Either<Failure, Method> {
  if (flags.denoiser === 'none') {
    if (flags.oneShot) return usage('--one-shot needs a denoiser; drop --denoiser none');
    if (flags.K !== 1) return usage('--K > 1 needs a denoiser (plain smoothing has nothing to vote over)');
    return E.right({ kind: 'smoothing' });
  }
  if (flags.oneShot) {
    if (flags.K !== 1) return usage('--one-shot is deterministic given the noise: every vote would agree, so use --K 1');
    return E.right({ kind: 'dds' });
  }
  const steps = flags.steps === 'full' ? 'full' : Number(flags.steps);
  if (steps !== 'full' && (!Number.isInteger(steps) || steps < 1)) return usage(`--steps must be 'full' or a whole number >= 1, got '${flags.steps}'`);
  return E.right({ kind: 'densepure', votes: flags.K, steps, ...(flags.spacing === 'densepure' ? { spacing: 'densepure' as const } : {}) });
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

/** The Right, or its Failure thrown to main's reportFailure. */
export function must<A>(result: E.Either<Failure, A>): A {
  if (E.isLeft(result)) throw result.left;
  return result.right;
}
