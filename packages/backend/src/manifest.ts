import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { either as E, taskEither as TE, function as F } from 'fp-ts';
import { z } from 'zod';
import { type BackendError, corruptModel, describeThrown, fileNotFound, manifestInvalid } from './errors.js';

const tensorSpec = z.object({
  name: z.string().min(1),
  dtype: z.enum(['float32', 'int64', 'int32']),
  shape: z.array(z.union([z.literal('B'), z.number().int().positive()])).min(1),
});

const common = {
  schemaVersion: z.literal(1),
  name: z.string().min(1),
  format: z.enum(['onnx', 'tfjs-graph', 'tfjs-layers']),
  file: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a 64-character lowercase hex sha256'),
  sizeBytes: z.number().int().positive().optional(),
  inputs: z.array(tensorSpec).min(1),
  outputs: z.array(tensorSpec).min(1),
  imageSize: z.number().int().positive(),
  channels: z.number().int().positive(),
  valueRange: z.tuple([z.number(), z.number()]).refine(([lo, hi]) => lo < hi, 'valueRange must be [low, high] with low < high'),
  dataset: z.record(z.string(), z.unknown()).optional(),
  training: z.record(z.string(), z.unknown()).optional(),
  metrics: z.record(z.string(), z.unknown()).optional(),
};

const diffusionSpec = z.object({
  schedule: z.enum(['linear', 'cosine']),
  T: z.number().int().positive(),
  betaStart: z.number().positive().optional(),
  betaEnd: z.number().positive().optional(),
  prediction: z.literal('epsilon'),
  learnedVariance: z.boolean(),
  varianceParam: z.enum(['learned_range']).optional(),
  trainedTimesteps: z.record(z.string(), z.unknown()).optional(),
});

const denoiserManifest = z.object({ ...common, kind: z.literal('denoiser'), diffusion: diffusionSpec }).loose();

const classifierManifest = z
  .object({
    ...common,
    kind: z.literal('classifier'),
    numClasses: z.number().int().min(2),
    classNames: z.array(z.string()).optional(),
    normalization: z
      .object({ mean: z.array(z.number()), std: z.array(z.number().positive()), appliedInGraph: z.boolean() })
      .optional(),
    /** How images of another size are resized to the input (default bilinear; DDS uses bicubic with antialias). */
    resize: z.enum(['bilinear', 'bicubic-antialias']).optional(),
  })
  .loose()
  .refine((m) => m.classNames === undefined || m.classNames.length === m.numClasses, {
    message: 'classNames must have numClasses entries',
    path: ['classNames'],
  });

/** The JSON manifest that sits beside every model file: what the model computes and how it was made. */
export const modelManifestSchema = z.discriminatedUnion('kind', [denoiserManifest, classifierManifest]);
export type ModelManifest = z.infer<typeof modelManifestSchema>;
export type DenoiserManifest = z.infer<typeof denoiserManifest>;
export type ClassifierManifest = z.infer<typeof classifierManifest>;
export type TensorSpec = z.infer<typeof tensorSpec>;
export type ModelFormat = ModelManifest['format'];

/** A manifest read, validated and matched to its model file (whose sha256 was checked). */
export interface ResolvedModel<M extends ModelManifest = ModelManifest> {
  readonly manifest: M;
  readonly manifestPath: string;
  /** sha256 of the manifest's bytes as read: part of a run's identity (a changed preprocessing changes numbers). */
  readonly manifestSha256: string;
  readonly modelPath: string;
}

const formatZodIssues = (error: z.ZodError): string =>
  error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');

/** Validates parsed JSON as a manifest; the error names each bad key. */
export const parseManifest = (json: unknown, path: string): E.Either<BackendError, ModelManifest> => {
  const parsed = modelManifestSchema.safeParse(json);
  return parsed.success ? E.right(parsed.data) : E.left(manifestInvalid(path, formatZodIssues(parsed.error)));
};

const readFileTE = (path: string, what: string): TE.TaskEither<BackendError, Buffer> =>
  TE.tryCatch(
    () => readFile(path),
    (cause) =>
      (cause as NodeJS.ErrnoException).code === 'ENOENT'
        ? fileNotFound(path, what)
        : corruptModel(path, `cannot read ${what}: ${describeThrown(cause)}`),
  );

/** The manifest path for a model spec: a `.json` path itself, else the model file with its extension replaced. */
export const manifestPathFor = (path: string): string =>
  extname(path) === '.json' ? path : join(dirname(path), `${basename(path, extname(path))}.json`);

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * Reads and validates a model's manifest and checks that the model file it names exists and has the
 * sha256 the manifest records. `path` may be the manifest or the model file (then `<stem>.json` is used).
 * For a tfjs model folder the file is `model.json`; its hash covers that file only.
 */
export const resolveModel = (path: string): TE.TaskEither<BackendError, ResolvedModel> => {
  const manifestPath = resolve(manifestPathFor(path));
  return F.pipe(
    TE.tryCatch(
      () => stat(resolve(path)),
      () => fileNotFound(resolve(path), extname(path) === '.json' ? 'model manifest' : 'model file'),
    ),
    TE.flatMap(() => readFileTE(manifestPath, 'model manifest (a JSON file beside the model, same name)')),
    TE.flatMap((bytes) =>
      TE.fromEither(
        F.pipe(
          E.tryCatch(
            () => JSON.parse(bytes.toString('utf8')) as unknown,
            (cause) => manifestInvalid(manifestPath, `not valid JSON: ${describeThrown(cause)}`),
          ),
          E.flatMap((json) => parseManifest(json, manifestPath)),
          E.map((manifest) => ({ manifest, manifestSha256: sha256Hex(bytes) })),
        ),
      ),
    ),
    TE.flatMap(({ manifest, manifestSha256 }) => {
      const modelPath = resolve(dirname(manifestPath), manifest.file);
      return F.pipe(
        readFileTE(modelPath, 'model file'),
        TE.flatMap((bytes) => {
          const actual = sha256Hex(bytes);
          return actual === manifest.sha256
            ? TE.right({ manifest, manifestPath, manifestSha256, modelPath })
            : TE.left(
                corruptModel(
                  modelPath,
                  `sha256 is ${actual} but the manifest ${manifestPath} records ${manifest.sha256}; the file is damaged or not the model the manifest describes (re-copy it, or update the manifest if you changed the model on purpose)`,
                ),
              );
        }),
      );
    }),
  );
};
