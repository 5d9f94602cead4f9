// Reading the files a manifest names, safely: inside the manifest's folder (after resolving symlinks), regular
// files only, of the size the manifest records (checked before a byte is read), then their sha256. Every
// backend gets the verified bytes from here, so none re-reads a file that could have changed meanwhile.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, open, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { either as E } from 'fp-ts';
import { type BackendError, corruptModel, describeThrown, fileNotFound, manifestInvalid } from './errors.js';

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Manifests are small JSON files; anything larger is refused before it is read. */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

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
 * Opens `path` and reads it only if it is a regular file whose size passes `checkSize` (which returns an error
 * message, or null). Never blocks on a FIFO, never reads a device.
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

/** What a manifest records about one file it names. */
export interface FileRecord {
  /** As written in the manifest: relative to the manifest's folder. */
  readonly file: string;
  readonly sha256: string;
  readonly sizeBytes: number;
}

/** A file named by a manifest, read and checked; `path` is where it really is (symlinks resolved). */
export interface VerifiedFile {
  readonly path: string;
  readonly bytes: Uint8Array;
}

/**
 * Resolves `record.file` against the manifest's folder, refuses it unless its real path (symlinks resolved)
 * lies inside that folder, and reads it only when it is a regular file of `record.sizeBytes` bytes; then
 * checks its sha256. `what` names the file in messages ('model file', 'weights file').
 */
export async function readManifestFile(manifestPath: string, folder: string, record: FileRecord, what: string): Promise<E.Either<BackendError, VerifiedFile>> {
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
    return E.left(
      manifestInvalid(
        manifestPath,
        `${what} '${record.file}' resolves to ${real}, outside the manifest's folder ${realFolder}; a manifest may only name files in its own folder or below it (move the file there, or the manifest beside it)`,
      ),
    );
  }
  const bytes = await readRegularFile(real, what, (size) =>
    size === record.sizeBytes
      ? null
      : corruptModel(
          real,
          `the ${what} is ${size} bytes but the manifest ${manifestPath} records sizeBytes ${record.sizeBytes}; the file is truncated, damaged or not the one the manifest describes`,
        ),
  );
  if (E.isLeft(bytes)) return bytes;
  const actual = sha256Hex(bytes.right);
  if (actual !== record.sha256) {
    return E.left(
      corruptModel(
        real,
        `sha256 is ${actual} but the manifest ${manifestPath} records ${record.sha256}; the file is damaged or not the one the manifest describes (re-copy it, or update the manifest if you changed the model on purpose)`,
      ),
    );
  }
  return E.right({ path: real, bytes: bytes.right });
}
