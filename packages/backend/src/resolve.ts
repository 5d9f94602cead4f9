// Resolving a model from any source, the one way: read the manifest (size-capped), parse and validate it, read
// the model file and every weight file it lists through the source (each refused unread unless inside the
// manifest's folder and of the recorded size), then check each size and sha256. Backends load the verified
// bytes and never read a file again.
import { either as E, type taskEither as TE, function as F } from 'fp-ts';
import { type BackendError, corruptModel, describeThrown, manifestInvalid } from './errors.js';
import { sha256Hex as portableSha256Hex } from './hash.js';
import { type ModelManifest, parseManifest } from './manifest.js';
import { type FileRecord, MAX_MANIFEST_BYTES, type ModelSource, type SourcedFile, sizeMismatch, weightKey } from './source.js';

/** A manifest read, validated and matched to its files, whose sizes and sha256 were checked. */
export interface ResolvedModel<M extends ModelManifest = ModelManifest> {
  readonly manifest: M;
  /** The source's `manifestLocation`: the manifest's absolute path for files, its URL, or `bytes:<name>`. */
  readonly manifestPath: string;
  /** sha256 of the manifest's bytes as read: part of a run's identity (a changed preprocessing changes numbers). */
  readonly manifestSha256: string;
  /** Where the model file really is: its path with symlinks resolved, its URL, or `bytes:<file>`. */
  readonly modelPath: string;
  /** The model file's bytes, as checked: backends load these and never read the file again. */
  readonly modelBytes: Uint8Array;
  /**
   * The weight files the manifest lists (tfjs shards), as checked, keyed by their path relative to the model
   * file's folder with '/' separators (as model.json's weightsManifest writes them).
   */
  readonly weightFiles: ReadonlyMap<string, Uint8Array>;
}

/** Reads one file the manifest names through the source, then checks its size and sha256. */
async function readVerified(source: ModelSource, record: FileRecord, what: string, hash: (bytes: Uint8Array) => string): Promise<E.Either<BackendError, SourcedFile>> {
  const read = await source.readFile(record, what);
  if (E.isLeft(read)) return read;
  const { location, bytes } = read.right;
  if (bytes.length !== record.sizeBytes) return E.left(sizeMismatch(location, what, bytes.length, source.manifestLocation, record.sizeBytes));
  const actual = hash(bytes);
  if (actual !== record.sha256) {
    return E.left(
      corruptModel(
        location,
        `sha256 is ${actual} but the manifest ${source.manifestLocation} records ${record.sha256}; the file is damaged or not the one the manifest describes (re-copy it, or update the manifest if you changed the model on purpose)`,
      ),
    );
  }
  return read;
}

/** A model's manifest, read and validated, without its model file. */
export interface ModelManifestRead {
  readonly manifest: ModelManifest;
  readonly manifestPath: string;
  /** sha256 of the manifest's bytes as read (a run's identity records it). */
  readonly manifestSha256: string;
}

/**
 * Reads (size-capped) and validates a model's manifest from `source`, and nothing else: what the model file's
 * sha256 should be, without reading the model (a queue worker indexes the models it may load by it).
 */
export const readManifestFrom = (source: ModelSource): TE.TaskEither<BackendError, ModelManifestRead> => async () => {
  const hash = source.sha256Hex ?? portableSha256Hex;
  const manifestPath = source.manifestLocation;
  const manifestBytes = await source.readManifest(MAX_MANIFEST_BYTES);
  if (E.isLeft(manifestBytes)) return manifestBytes;
  const parsed = F.pipe(
    E.tryCatch(
      () => JSON.parse(new TextDecoder().decode(manifestBytes.right)) as unknown,
      (cause) => manifestInvalid(manifestPath, `not valid JSON: ${describeThrown(cause)}`),
    ),
    E.flatMap((json) => parseManifest(json, manifestPath)),
  );
  return E.map((manifest: ModelManifest) => ({ manifest, manifestPath, manifestSha256: hash(manifestBytes.right) }))(parsed);
};

/**
 * Reads and validates a model's manifest from `source`, then reads the model file and every weight file it lists:
 * each must lie inside the manifest's folder (or below the manifest's URL), have the recorded size (checked
 * before it is read) and the recorded sha256.
 */
export const resolveModelFrom = (source: ModelSource): TE.TaskEither<BackendError, ResolvedModel> => async () => {
  const hash = source.sha256Hex ?? portableSha256Hex;
  const read = await readManifestFrom(source)();
  if (E.isLeft(read)) return read;
  const { manifest, manifestPath, manifestSha256 } = read.right;
  const model = await readVerified(source, manifest, 'model file', hash);
  if (E.isLeft(model)) return model;
  const weightFiles = new Map<string, Uint8Array>();
  for (const w of manifest.weights ?? []) {
    const got = await readVerified(source, w, 'weights file', hash);
    if (E.isLeft(got)) return got;
    weightFiles.set(weightKey(source.folder ?? '/', manifest.file, w.file), got.right.bytes);
  }
  return E.right({ manifest, manifestPath, manifestSha256, modelPath: model.right.location, modelBytes: model.right.bytes, weightFiles });
};
