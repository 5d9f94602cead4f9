// Models on disk (node only): the source behind a model path. Reads files safely: inside the manifest's folder
// (after resolving symlinks), regular files only, of the size the manifest records (checked before a byte is
// read). resolve.ts then checks sizes and sha256 as for every source. The only module of the contract that
// imports node; the package's browser entry point leaves it out.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, open, realpath, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { either as E } from 'fp-ts';
import { type BackendError, corruptModel, describeThrown, fileNotFound } from './errors.js';
import { type FileRecord, type ModelSource, type SourcedFile, manifestTooLarge, outsideFolder, sizeMismatch } from './source.js';

/** sha256 of `bytes` as 64 lowercase hex characters (node's native hash; the same digest as the portable one). */
export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

// O_NONBLOCK: opening a FIFO for reading must not wait for a writer (we refuse it right after fstat).
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

const errnoCode = (cause: unknown): string | undefined => (cause as NodeJS.ErrnoException).code;

/** Reads exactly `size` bytes from an open regular file; a file that shrinks or grows meanwhile is an error. */
async function readExactly(handle: FileHandle, size: number): Promise<Uint8Array | 'changed'> {
  // Its own ArrayBuffer (not Node's shared pool), so callers may view or transfer `.buffer` whole.
  const out = new Uint8Array(size);
  let at = 0;
  while (at < size) {
    const { bytesRead } = await handle.read(out, at, size - at, at);
    if (bytesRead === 0) return 'changed';
    at += bytesRead;
  }
  const { bytesRead } = await handle.read(new Uint8Array(1), 0, 1, size);
  return bytesRead === 0 ? out : 'changed';
}

/**
 * Opens `path` and reads it only if it is a regular file whose size passes `checkSize` (which returns an error,
 * or null). Never blocks on a FIFO, never reads a device.
 */
export async function readRegularFile(
  path: string,
  what: string,
  checkSize: (size: number) => BackendError | null,
): Promise<E.Either<BackendError, Uint8Array>> {
  let handle: FileHandle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (cause) {
    return E.left(errnoCode(cause) === 'ENOENT' ? fileNotFound(path, what) : corruptModel(path, `cannot open the ${what}: ${describeThrown(cause)}`));
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      return E.left(corruptModel(path, `the ${what} is not a regular file (a FIFO, device, socket or directory); point the manifest at the file itself`));
    }
    const sizeError = checkSize(stats.size);
    if (sizeError !== null) return E.left(sizeError);
    const bytes = await readExactly(handle, stats.size);
    return bytes === 'changed' ? E.left(corruptModel(path, `the ${what} changed size while it was being read; load it again once it is complete`)) : E.right(bytes);
  } catch (cause) {
    return E.left(corruptModel(path, `cannot read the ${what}: ${describeThrown(cause)}`));
  } finally {
    await handle.close().catch(() => undefined);
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
