// Models on disk (node only): the source behind a model path. Reads files safely: inside the manifest's folder
// (after resolving symlinks), regular files only, of the size the manifest records (checked before a byte is
// read), through local-file.ts like every other file a command reads. resolve.ts then checks sizes and sha256 as
// for every source. With local-file.ts, the only modules of the contract that import node; the package's browser
// entry point leaves them out.
import { createHash } from 'node:crypto';
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { either as E } from 'fp-ts';
import { type BackendError, corruptModel, describeThrown, fileNotFound } from './errors.js';
import { isLocalFileError, readLocalFile } from './local-file.js';
import { type FileRecord, type ModelSource, type SourcedFile, manifestTooLarge, outsideFolder, sizeMismatch } from './source.js';

/** sha256 of `bytes` as 64 lowercase hex characters (node's native hash; the same digest as the portable one). */
export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

const errnoCode = (cause: unknown): string | undefined => (cause as NodeJS.ErrnoException).code;

/**
 * Reads `path` whole through {@link readLocalFile} (regular files only, never blocking on a FIFO, never reading a
 * device) when its size passes `checkSize` (which returns an error, or null), with the contract's errors.
 */
export async function readRegularFile(
  path: string,
  what: string,
  checkSize: (size: number) => BackendError | null,
): Promise<E.Either<BackendError, Uint8Array>> {
  const read = await readLocalFile(path, { what, checkSize });
  if (E.isRight(read) || !isLocalFileError(read.left)) return read as E.Either<BackendError, Uint8Array>;
  const e = read.left;
  switch (e.kind) {
    case 'file-missing':
      return E.left(fileNotFound(path, what));
    case 'not-a-regular-file':
      return E.left(corruptModel(path, `the ${what} is not a regular file (it is ${e.is}); point the manifest at the file itself`));
    case 'file-changed':
      return E.left(corruptModel(path, `the ${what} changed size while it was being read; load it again once it is complete`));
    default:
      return E.left(corruptModel(path, e.message));
  }
}

/**
 * Resolves `record.file` against the manifest's folder, refuses it unless its real path (symlinks resolved)
 * lies inside that folder, and reads it only when it is a regular file of `record.sizeBytes` bytes. `what`
 * names the file in messages ('model file', 'weights file'). The sha256 is checked by the caller.
 */
export async function readManifestFile(manifestPath: string, folder: string, record: FileRecord, what: string): Promise<E.Either<BackendError, SourcedFile>> {
  const named = resolve(folder, record.file);
  let realFolder: string;
  let real: string;
  try {
    realFolder = await realpath(folder);
    real = await realpath(named);
  } catch (cause) {
    return E.left(errnoCode(cause) === 'ENOENT' ? fileNotFound(named, what) : corruptModel(named, `cannot resolve the ${what}: ${describeThrown(cause)}`));
  }
  const rel = relative(realFolder, real);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    return E.left(outsideFolder(manifestPath, what, record.file, `resolves to ${real}, outside the manifest's folder ${realFolder}`));
  }
  const bytes = await readRegularFile(real, what, (size) => (size === record.sizeBytes ? null : sizeMismatch(real, what, size, manifestPath, record.sizeBytes)));
  return E.map((b: Uint8Array) => ({ location: real, bytes: b }))(bytes);
}

/** The manifest path for a model spec: a `.json` path itself, else the model file with its extension replaced. */
export const manifestPathFor = (path: string): string =>
  extname(path) === '.json' ? path : join(dirname(path), `${basename(path, extname(path))}.json`);

/**
 * A model on disk: `path` is the manifest or the model file (then `<stem>.json` beside it is the manifest).
 * Metadata names the manifest by its absolute path and the model file by its real path.
 */
export function fileSource(path: string): ModelSource {
  const manifestPath = resolve(manifestPathFor(path));
  const folder = dirname(manifestPath);
  return {
    manifestLocation: manifestPath,
    folder,
    sha256Hex,
    readManifest: async (maxBytes) => {
      try {
        await stat(resolve(path));
      } catch {
        return E.left(fileNotFound(resolve(path), extname(path) === '.json' ? 'model manifest' : 'model file'));
      }
      const bytes = await readRegularFile(manifestPath, 'model manifest', (size) => (size <= maxBytes ? null : manifestTooLarge(manifestPath, size, maxBytes)));
      if (E.isLeft(bytes) && bytes.left.kind === 'file-not-found') return E.left(fileNotFound(manifestPath, 'model manifest (a JSON file beside the model, same name)'));
      return bytes;
    },
    readFile: (record, what) => readManifestFile(manifestPath, folder, record, what),
  };
}
