// Reading a whole local file, the one way every command does it (models, manifests, datasets, experiment files,
// class lists): regular files only (a FIFO is never waited on, a device never read), of a size known before the
// first byte is read and checked against a limit. Node only; the package's browser entry point leaves it out.
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { constants as bufferConstants } from 'node:buffer';
import { either as E } from 'fp-ts';

/** Why a local file could not be read whole, as data; `message` names the file and says what to do. */
export type LocalFileError =
  | { readonly kind: 'file-missing'; readonly path: string; readonly message: string }
  | { readonly kind: 'not-a-regular-file'; readonly path: string; readonly is: string; readonly message: string }
  | { readonly kind: 'file-too-large'; readonly path: string; readonly size: number; readonly maxBytes: number; readonly message: string }
  | { readonly kind: 'file-changed'; readonly path: string; readonly message: string }
  | { readonly kind: 'file-unreadable'; readonly path: string; readonly message: string };

export interface LocalFileOptions {
  /** What the file is, for messages ('dataset file', 'experiment file'). */
  readonly what: string;
  /** The most bytes to read (default: the most one buffer holds); a larger file is refused before it is read. */
  readonly maxBytes?: number;
  /** Why the limit is what it is, appended to the too-large message ('an ONNX file holds at most 2 GiB'). */
  readonly limitReason?: string;
}

// O_NONBLOCK: opening a FIFO for reading must not wait for a writer (it is refused right after fstat).
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

const describe = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause));

/** Reads exactly `size` bytes from an open regular file; a file that shrinks or grows meanwhile is 'changed'. */
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

const LOCAL_FILE_KINDS: ReadonlySet<string> = new Set<LocalFileError['kind']>(['file-missing', 'not-a-regular-file', 'file-too-large', 'file-changed', 'file-unreadable']);

/** Whether `e` is one of {@link readLocalFile}'s own errors (not the caller's `checkSize` error). */
export const isLocalFileError = (e: unknown): e is LocalFileError => typeof e === 'object' && e !== null && LOCAL_FILE_KINDS.has((e as { kind?: unknown }).kind as string);

/**
 * Opens `path` and reads it whole only if it is a regular file (symlinks followed) of at most `maxBytes` bytes
 * whose size `checkSize` accepts (it returns the caller's error, or null; called before a byte is read).
 * Never blocks on a FIFO, never reads a device, a socket or a directory.
 */
export async function readLocalFile<X = never>(
  path: string,
  options: LocalFileOptions & { readonly checkSize?: (size: number) => X | null },
): Promise<E.Either<LocalFileError | X, Uint8Array>> {
  const { what } = options;
  const maxBytes = Math.min(options.maxBytes ?? bufferConstants.MAX_LENGTH, bufferConstants.MAX_LENGTH);
  let handle: FileHandle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return E.left({ kind: 'file-missing', path, message: `${what} not found: ${path}` });
    return E.left({ kind: 'file-unreadable', path, message: `cannot open the ${what} ${path}: ${describe(cause)}` });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      const is = stats.isFIFO() ? 'a FIFO' : stats.isCharacterDevice() || stats.isBlockDevice() ? 'a device' : stats.isSocket() ? 'a socket' : stats.isDirectory() ? 'a folder' : 'not a file';
      return E.left({ kind: 'not-a-regular-file', path, is, message: `the ${what} ${path} is not a regular file (it is ${is}); name the file itself` });
    }
    if (stats.size > maxBytes) {
      return E.left({
        kind: 'file-too-large',
        path,
        size: stats.size,
        maxBytes,
        message: `the ${what} ${path} has ${stats.size} bytes, more than the ${maxBytes} read at most${options.limitReason === undefined ? '' : ` (${options.limitReason})`}`,
      });
    }
    const refused = options.checkSize?.(stats.size) ?? null;
    if (refused !== null) return E.left(refused);
    const bytes = await readExactly(handle, stats.size);
    return bytes === 'changed' ? E.left({ kind: 'file-changed', path, message: `the ${what} ${path} changed size while it was being read; read it again once it is complete` }) : E.right(bytes);
  } catch (cause) {
    return E.left({ kind: 'file-unreadable', path, message: `cannot read the ${what} ${path}: ${describe(cause)}` });
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** {@link readLocalFile} as UTF-8 text. */
export async function readLocalText(path: string, options: LocalFileOptions): Promise<E.Either<LocalFileError, string>> {
  return E.map((bytes: Uint8Array) => new TextDecoder().decode(bytes))(await readLocalFile(path, options));
}
