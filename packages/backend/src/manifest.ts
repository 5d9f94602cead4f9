import { either as E } from 'fp-ts';
import { z } from 'zod';
import { type BackendError, manifestInvalid } from './errors.js';

const tensorSpec = z.strictObject({
  name: z.string().min(1),
  dtype: z.enum(['float32', 'int64', 'int32']),
  shape: z.array(z.union([z.literal('B'), z.number().int().positive()])).min(1),
});

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a 64-character lowercase hex sha256');

/** One extra file of a model (a tfjs weight shard), relative to the manifest's folder, checked like the model file. */
const fileRecord = z.strictObject({ file: z.string().min(1), sha256, sizeBytes: z.number().int().nonnegative() });

// Every key is either read by the library or a declared provenance record (dataset, training, metrics, opset,
// exportedWith: how the model was made, never read). Unknown keys are refused: a field that looks like it
// configures something but is ignored would change numbers without a word.
const common = {
  schemaVersion: z.literal(1),
  name: z.string().min(1),
  format: z.enum(['onnx', 'tfjs-graph', 'tfjs-layers']),
  file: z.string().min(1),
  sha256,
  /** Checked before the file is read, so a wrong path cannot make us read a huge or endless file. */
  sizeBytes: z
    .number({ error: (issue) => (issue.input === undefined ? "required: the model file's size in bytes (checked before the file is read)" : undefined) })
    .int()
    .positive(),
  /** tfjs formats: every weight shard model.json lists (required there; refused for onnx, which is one file). */
  weights: z.array(fileRecord).optional(),
  inputs: z.array(tensorSpec).min(1),
  outputs: z.array(tensorSpec).min(1),
  imageSize: z.number().int().positive(),
  channels: z.number().int().positive(),
  valueRange: z.tuple([z.number(), z.number()]).refine(([lo, hi]) => lo < hi, 'valueRange must be [low, high] with low < high'),
  dataset: z.record(z.string(), z.unknown()).optional(),
  training: z.record(z.string(), z.unknown()).optional(),
  metrics: z.record(z.string(), z.unknown()).optional(),
  opset: z.number().int().positive().optional(),
  exportedWith: z.string().optional(),
};

/**
 * The most values one image may have (channels x height x width): 2^25, e.g. 3x3344x3344. Far above any model
 * densepure runs (ImageNet's 3x256x256 is 196608), low enough that a batch of such images is allocatable, so a
 * mistyped shape is refused in words instead of failing inside a typed-array allocation.
 */
export const MAX_IMAGE_VALUES = 2 ** 25;

/** The most diffusion steps T a manifest may declare (models are trained with 1000 or 4000; schedules hold T values). */
export const MAX_DIFFUSION_STEPS = 100_000;

const betaBound = (name: string) =>
  z.number().gt(0, `${name} must be in (0, 1)`).lt(1, `${name} must be in (0, 1)`);

// improved-diffusion's default last linear beta, scaled by 1000 / T (core's linearBetaSchedule): it reaches 1 at
// T = 20. The same rule as core's, checked here so a bad manifest fails when it loads, not later in a run.
const DEFAULT_LINEAR_BETA_END = 0.02;

const diffusionSpec = z
  .strictObject({
    schedule: z.enum(['linear', 'cosine']),
    T: z.number().int().positive().max(MAX_DIFFUSION_STEPS, `T must be at most ${MAX_DIFFUSION_STEPS} (diffusion models are trained with 1000 or 4000 steps)`),
    /** Linear schedule only: the first and last beta (used as given, not scaled by 1000 / T). */
    betaStart: betaBound('betaStart').optional(),
    betaEnd: betaBound('betaEnd').optional(),
    prediction: z.literal('epsilon'),
    learnedVariance: z.boolean(),
    varianceParam: z.enum(['learned_range']).optional(),
  })
  .superRefine((d, ctx) => {
    const issue = (path: string, message: string): void => void ctx.addIssue({ code: 'custom', path: [path], message });
    const given = [d.betaStart, d.betaEnd].filter((b) => b !== undefined).length;
    if (d.schedule === 'cosine' && given > 0) {
      issue(d.betaStart === undefined ? 'betaEnd' : 'betaStart', 'the cosine schedule has no betaStart/betaEnd (they would be ignored): remove them, or use the linear schedule');
    } else if (given === 1) {
      issue(d.betaStart === undefined ? 'betaStart' : 'betaEnd', 'give betaStart and betaEnd together (or neither, for the default linear schedule)');
    } else if (given === 2 && (d.betaStart as number) > (d.betaEnd as number)) {
      issue('betaStart', `betaStart ${d.betaStart} is larger than betaEnd ${d.betaEnd}: a linear schedule increases`);
    } else if (d.schedule === 'linear' && given === 0 && d.T > 1 && (DEFAULT_LINEAR_BETA_END * 1000) / d.T >= 1) {
      issue(
        'T',
        `the default linear schedule with T = ${d.T} has betas up to ${(DEFAULT_LINEAR_BETA_END * 1000) / d.T} (improved-diffusion scales 0.0001..0.02 by 1000 / T) and betas must be in (0, 1): give betaStart and betaEnd, or use T >= 21`,
      );
    }
    if (d.varianceParam !== undefined && !d.learnedVariance) {
      issue('varianceParam', 'varianceParam applies only to a model with learnedVariance: true (remove it)');
    }
  });

const shapeText = (shape: readonly (number | string)[]): string => `[${shape.join(',')}]`;

type CommonManifest = z.infer<z.ZodObject<typeof common>>;

/** Checks that the manifest agrees with itself: shapes vs imageSize/channels, weights vs format. */
function checkConsistency(m: CommonManifest, ctx: z.RefinementCtx, outputChannels: number | null, numClasses: number | null): void {
  const issue = (path: (string | number)[], message: string): void => void ctx.addIssue({ code: 'custom', path, message });
  const S = m.imageSize;
  const C = m.channels;
  if (C * S * S > MAX_IMAGE_VALUES) {
    issue(['imageSize'], `imageSize ${S} with ${C} channels is ${C * S * S} values per image, more than the ${MAX_IMAGE_VALUES} densepure handles: check imageSize and channels`);
  }
  const image = m.inputs[0]!;
  const [, a, b, c] = image.shape;
  const nchw = a === C && b === S && c === S;
  const nhwc = a === S && b === S && c === C;
  if (image.shape.length !== 4 || !(nchw || nhwc)) {
    issue(
      ['inputs', 0, 'shape'],
      `the image input '${image.name}' has shape ${shapeText(image.shape)}, which contradicts imageSize ${S} and channels ${C}: expected [B,${C},${S},${S}] (NCHW) or [B,${S},${S},${C}] (NHWC); fix whichever is wrong`,
    );
  }
  const out = m.outputs[0]!;
  if (outputChannels !== null) {
    const [, o1, o2, o3] = out.shape;
    const ok = out.shape.length === 4 && ((o1 === outputChannels && o2 === S && o3 === S) || (o1 === S && o2 === S && o3 === outputChannels));
    if (!ok) {
      issue(
        ['outputs', 0, 'shape'],
        `the output '${out.name}' has shape ${shapeText(out.shape)}; with channels ${C}, imageSize ${S} and learnedVariance ${outputChannels === 2 * C} it must be [B,${outputChannels},${S},${S}] (NCHW) or [B,${S},${S},${outputChannels}] (NHWC)`,
      );
    }
  }
  if (numClasses !== null && (out.shape.length !== 2 || out.shape[1] !== numClasses)) {
    issue(['outputs', 0, 'shape'], `the output '${out.name}' has shape ${shapeText(out.shape)} but numClasses is ${numClasses}: expected [B,${numClasses}]`);
  }
  const tfjs = m.format !== 'onnx';
  if (tfjs && m.weights === undefined) {
    issue(['weights'], `a ${m.format} model needs 'weights': every weight file its model.json lists, each with file, sha256 and sizeBytes (so changed weights are caught)`);
  }
  if (!tfjs && m.weights !== undefined) {
    issue(['weights'], 'an onnx model is one file: remove weights (it would be ignored)');
  }
  const seen = new Set<string>();
  for (const [i, w] of (m.weights ?? []).entries()) {
    if (seen.has(w.file)) issue(['weights', i, 'file'], `weights lists '${w.file}' twice`);
    seen.add(w.file);
  }
}

const denoiserManifest = z
  .strictObject({ ...common, kind: z.literal('denoiser'), diffusion: diffusionSpec })
  .superRefine((m, ctx) => {
    checkConsistency(m, ctx, m.diffusion.learnedVariance ? 2 * m.channels : m.channels, null);
    const time = m.inputs[1];
    if (m.inputs.length !== 2 || time === undefined || time.dtype === 'float32' || time.shape.length !== 1) {
      ctx.addIssue({ code: 'custom', path: ['inputs'], message: 'a denoiser has two inputs: the image, then the integer timesteps (int64 or int32, shape [B])' });
    }
  });

const classifierManifest = z
  .strictObject({
    ...common,
    kind: z.literal('classifier'),
    numClasses: z.number().int().min(2),
    classNames: z.array(z.string()).optional(),
    normalization: z
      .strictObject({ mean: z.array(z.number()), std: z.array(z.number().positive()), appliedInGraph: z.boolean() })
      .optional(),
    /** How images of another size are resized to the input (default bilinear; DDS uses bicubic with antialias). */
    resize: z.enum(['bilinear', 'bicubic-antialias']).optional(),
    /**
     * What the first output holds (default 'logits'): logits (softmax gives probabilities), probabilities (used
     * as they are), or scores (only their argmax means something: no probabilities, so no soft voting).
     */
    output: z.enum(['logits', 'probabilities', 'scores']).optional(),
  })
  .superRefine((m, ctx) => {
    checkConsistency(m, ctx, null, m.numClasses);
    if (m.classNames !== undefined && m.classNames.length !== m.numClasses) {
      ctx.addIssue({ code: 'custom', path: ['classNames'], message: 'classNames must have numClasses entries' });
    }
    const n = m.normalization;
    if (n !== undefined && (n.mean.length !== m.channels || n.std.length !== m.channels)) {
      ctx.addIssue({ code: 'custom', path: ['normalization'], message: `mean and std need one value per channel (${m.channels})` });
    }
  });

/** The JSON manifest that sits beside every model file: what the model computes and how it was made. */
export const modelManifestSchema = z.discriminatedUnion('kind', [denoiserManifest, classifierManifest]);
export type ModelManifest = z.infer<typeof modelManifestSchema>;
export type DenoiserManifest = z.infer<typeof denoiserManifest>;
export type ClassifierManifest = z.infer<typeof classifierManifest>;
export type TensorSpec = z.infer<typeof tensorSpec>;
export type ModelFormat = ModelManifest['format'];
/** What a classifier's first output holds (manifest `output`, default 'logits'). */
export type ClassifierOutput = NonNullable<ClassifierManifest['output']>;

const formatZodIssues = (error: z.ZodError): string =>
  error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');

/** Validates parsed JSON as a manifest; the error names each bad key. */
export const parseManifest = (json: unknown, path: string): E.Either<BackendError, ModelManifest> => {
  const parsed = modelManifestSchema.safeParse(json);
  return parsed.success ? E.right(parsed.data) : E.left(manifestInvalid(path, formatZodIssues(parsed.error)));
};
