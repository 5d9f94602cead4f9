// `densepure manifest MODEL.onnx --kind ...`: writes the JSON manifest beside a model someone brings, after checking
// the graph and one run against what they declare (the checks live in @densepure/backend / backend-onnx).
import { existsSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { type Command, Option } from 'commander';
import { either as E } from 'fp-ts';
import { type ManifestRequest, type ModelManifest, MAX_DIFFUSION_STEPS, formatBackendError, manifestPathFor, manifestText, readLocalText } from '@densepure/backend';
import { describeOnnxModel } from '@densepure/backend-onnx';
import { type Failure, type Outcome, type OutcomeRecorder, runtimeFailure, usageFailure } from '@densepure/app-kit';
import { ensureWritable, writeFileAtomic } from '@densepure/runner';
import { parseNumber, parseWhole, settingFlag } from './flags.js';

export interface ManifestOptions {
  readonly kind: 'denoiser' | 'classifier';
  readonly name?: string;
  readonly schedule?: 'linear' | 'cosine';
  readonly T?: number;
  readonly betaStart?: number;
  readonly betaEnd?: number;
  readonly learnedVariance?: boolean;
  readonly valueRange?: string;
  readonly imageSize?: number;
  readonly classes?: string;
  readonly numClasses?: number;
  readonly mean?: string;
  readonly std?: string;
  readonly resize?: 'bilinear' | 'bicubic-antialias';
  readonly force: boolean;
  readonly print: boolean;
}

const numberList = (flag: string, text: string): E.Either<Failure, number[]> => {
  const values = text.split(',').map((s) => Number(s.trim()));
  return text.trim() === '' || values.some((v) => !Number.isFinite(v)) ? E.left(usageFailure(`${flag} must be comma-separated numbers, got '${text}'`)) : E.right(values);
};

/** Flags -> the library's request; usage errors (exit 2) for flags that do not fit the kind. */
export async function manifestRequest(o: ManifestOptions): Promise<E.Either<Failure, ManifestRequest>> {
  const denoiserOnly = (['schedule', 'T', 'betaStart', 'betaEnd', 'learnedVariance'] as const).filter((k) => o[k] !== undefined);
  const classifierOnly = (['classes', 'numClasses', 'mean', 'std', 'resize'] as const).filter((k) => o[k] !== undefined);
  // The options' keys are camelCase (numClasses); users type the flag (--num-classes).
  if (o.kind === 'classifier' && denoiserOnly.length > 0) return E.left(usageFailure(`${settingFlag(denoiserOnly[0]!)} applies to --kind denoiser only`));
  if (o.kind === 'denoiser' && classifierOnly.length > 0) return E.left(usageFailure(`${settingFlag(classifierOnly[0]!)} applies to --kind classifier only`));
  let valueRange: [number, number] | undefined;
  if (o.valueRange !== undefined) {
    const v = numberList('--value-range', o.valueRange);
    if (E.isLeft(v)) return v;
    const [low, high] = v.right;
    if (v.right.length !== 2 || !(low! < high!)) return E.left(usageFailure(`--value-range must be 'low,high' with low < high, e.g. -1,1 or 0,1; got '${o.valueRange}'`));
    valueRange = [low!, high!];
  }
  const base = {
    ...(o.name === undefined ? {} : { name: o.name }),
    ...(valueRange === undefined ? {} : { valueRange }),
    ...(o.imageSize === undefined ? {} : { imageSize: o.imageSize }),
  };
  if (o.kind === 'denoiser') {
    if (o.schedule === undefined || o.T === undefined) {
      return E.left(usageFailure('a denoiser manifest needs --schedule (linear or cosine) and --T (the number of diffusion steps it was trained with)'));
    }
    if (o.T > MAX_DIFFUSION_STEPS) return E.left(usageFailure(`--T must be at most ${MAX_DIFFUSION_STEPS} (diffusion models are trained with 1000 or 4000 steps), got ${o.T}`));
    return E.right({
      kind: 'denoiser',
      ...base,
      diffusion: {
        schedule: o.schedule,
        T: o.T,
        ...(o.betaStart === undefined ? {} : { betaStart: o.betaStart }),
        ...(o.betaEnd === undefined ? {} : { betaEnd: o.betaEnd }),
        ...(o.learnedVariance === undefined ? {} : { learnedVariance: o.learnedVariance }),
      },
    });
  }
  if ((o.mean === undefined) !== (o.std === undefined)) return E.left(usageFailure('give --mean and --std together (or neither when the graph normalises itself)'));
  let classNames: string[] | undefined;
  if (o.classes !== undefined) {
    // Read as every file is read (regular files only, a FIFO refused at once), and small: one name per class.
    const text = await readLocalText(o.classes, { what: '--classes file', maxBytes: 16 * 2 ** 20, limitReason: 'a class list holds one name per line' });
    if (E.isLeft(text)) return E.left(runtimeFailure(`${text.left.message}; --classes names a text file with one class name per line, in label order`));
    classNames = text.right.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  }
  let normalization: { mean: number[]; std: number[] } | undefined;
  if (o.mean !== undefined) {
    const mean = numberList('--mean', o.mean);
    if (E.isLeft(mean)) return mean;
    const std = numberList('--std', o.std!);
    if (E.isLeft(std)) return std;
    normalization = { mean: mean.right, std: std.right };
  }
  return E.right({
    kind: 'classifier',
    ...base,
    ...(o.numClasses === undefined ? {} : { numClasses: o.numClasses }),
    ...(classNames === undefined ? {} : { classNames }),
    ...(normalization === undefined ? {} : { normalization }),
    ...(o.resize === undefined ? {} : { resize: o.resize }),
  });
}

const summary = (m: ModelManifest): string =>
  m.kind === 'denoiser'
    ? `denoiser ${m.channels}x${m.imageSize}x${m.imageSize}, ${m.diffusion.schedule} T=${m.diffusion.T}, ${m.diffusion.learnedVariance ? 'learned' : 'fixed'} variance`
    : `classifier ${m.channels}x${m.imageSize}x${m.imageSize} -> ${m.numClasses} classes${m.normalization === undefined ? '' : ', normalised outside the graph'}${m.resize === undefined ? '' : `, ${m.resize} resize`}`;

/** The manifest can be written at `path`: not a folder, not an existing manifest unless `force`, its folder writable. */
function manifestTarget(path: string, force: boolean): E.Either<Failure, void> {
  const isFolder = ((): boolean => {
    try {
      return statSync(path).isDirectory();
    } catch {
      return false;
    }
  })();
  if (isFolder) return E.left(runtimeFailure(`cannot write the manifest ${path}: it is a folder (densepure manifest writes <model stem>.json beside the model); move or rename that folder, or use --print`));
  if (existsSync(path) && !force) return E.left(runtimeFailure(`${path} exists; pass --force to replace it (or --print to see the new manifest)`));
  const writable = ensureWritable(path, []);
  return E.isLeft(writable) ? E.left(runtimeFailure(writable.left.message)) : E.right(undefined);
}

/** Checks the model against the declarations and writes `<model stem>.json` beside it (atomically). */
export async function runManifest(model: string, o: ManifestOptions): Promise<E.Either<Failure, { path: string; manifest: ModelManifest }>> {
  if (extname(model).toLowerCase() !== '.onnx') return E.left(usageFailure(`densepure manifest reads ONNX models (.onnx); got '${model}'`));
  const request = await manifestRequest(o);
  if (E.isLeft(request)) return request;
  const path = manifestPathFor(model);
  // Where the manifest goes is checked before the model is read and run.
  if (!o.print) {
    const target = manifestTarget(path, o.force);
    if (E.isLeft(target)) return target;
  }
  const described = await describeOnnxModel(model, request.right)();
  if (E.isLeft(described)) return E.left(runtimeFailure(formatBackendError(described.left)));
  const manifest = described.right.manifest;
  if (o.print) {
    process.stdout.write(manifestText(manifest));
    return E.right({ path, manifest });
  }
  // Through a temp file and a rename: a failure leaves neither half a manifest nor a temp file.
  const written = writeFileAtomic(path, manifestText(manifest));
  if (E.isLeft(written)) return E.left(runtimeFailure(written.left.message));
  process.stdout.write(`wrote ${path}: ${summary(manifest)}, sha256 ${manifest.sha256.slice(0, 12)}…\ncheck it with: densepure info ${path}\n`);
  return E.right({ path, manifest });
}

/** Adds `densepure manifest` to the program. */
export function registerManifestCommand(program: Command, outcomes: OutcomeRecorder): void {
  program
    .command('manifest')
    .description("check an ONNX model against what you declare about it (one run on a random input) and write its manifest beside it")
    .argument('<model>', 'the .onnx file; the manifest is written as <model stem>.json')
    .addOption(new Option('--kind <kind>', 'what the model is').choices(['denoiser', 'classifier']).makeOptionMandatory())
    .option('--name <name>', 'model name (default: the file name)')
    .addOption(new Option('--schedule <schedule>', 'denoiser: beta schedule it was trained with').choices(['linear', 'cosine']))
    .option('--T <n>', 'denoiser: number of diffusion steps it was trained with (improved-diffusion CIFAR-10: 4000, guided-diffusion ImageNet: 1000)', parseWhole('--T', 1))
    .option('--beta-start <b>', 'denoiser: first beta of a linear schedule (default: improved-diffusion 0.1 / T)', parseNumber('--beta-start'))
    .option('--beta-end <b>', 'denoiser: last beta of a linear schedule (default: improved-diffusion 20 / T)', parseNumber('--beta-end'))
    .option('--learned-variance', 'denoiser: the output holds eps and v (2C channels); default: inferred from the output')
    .option('--no-learned-variance', 'denoiser: the output is eps only (C channels)')
    .option('--value-range <lo,hi>', 'value range of the image input (default: -1,1 for a denoiser, 0,1 for a classifier)')
    .option('--image-size <n>', 'image size, when the graph has dynamic height and width', parseWhole('--image-size', 1))
    .option('--classes <file>', 'classifier: class names, one per line in label order')
    .option('--num-classes <n>', 'classifier: number of classes (checked against the logits)', parseWhole('--num-classes', 2))
    .option('--mean <m1,m2,m3>', 'classifier: per-channel mean to subtract before the graph (when the graph does not normalise)')
    .option('--std <s1,s2,s3>', 'classifier: per-channel std to divide by before the graph')
    .addOption(new Option('--resize <mode>', 'classifier: resizing of other-size images to its input').choices(['bilinear', 'bicubic-antialias']))
    .option('--force', 'replace an existing manifest', false)
    .option('--print', 'print the manifest instead of writing it', false)
    .action(outcomes.action(async (model: string, o: ManifestOptions): Promise<Outcome> => E.map(() => undefined)(await runManifest(model, o))));
}
