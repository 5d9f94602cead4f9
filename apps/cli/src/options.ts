import { type Command, InvalidArgumentError, Option } from 'commander';

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
    .addOption(new Option('--variance <mode>', 'reverse-step variance (default: learned-range if the model learns it, else fixed-large)').choices(['learned-range', 'fixed-small', 'fixed-large']));
}
