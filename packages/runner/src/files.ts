// Files a run writes, written so a reader (or a rerun after kill -9) never sees half of one: whole files through a
// temp file and a rename, the Cohen TSV row by row with fsync. One behaviour for every writer in the apps.
import { accessSync, closeSync, constants, existsSync, statSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { either as E } from 'fp-ts';
import { type RunError, ioError } from './errors.js';
import { COHEN_HEADER, type CertifyRow, formatRow, parseCohenTsv } from './tsv.js';

const message = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause));

/**
 * mkdir -p, one level at a time: Node's recursive mkdirSync can spin forever on pseudo file systems such as
 * /proc, where a plain mkdir fails at once.
 */
export function makeParents(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) mkdirSync(d);
}

/** Longest file name most file systems take (ext4, xfs, apfs: 255 bytes). */
export const NAME_MAX = 255;

/**
 * A temp name beside `path` that stays short whatever `path`'s name: `<name>.tmp-PID` would pass the 255-byte
 * limit for outputs whose own name (and `<name>.json`) still fit.
 */
export const tempPathFor = (path: string): string => join(dirname(path), `.${Buffer.from(basename(path)).subarray(0, 32).toString('utf8').replace(/\uFFFD$/, '')}.tmp-${process.pid}`);

/** Writes through a temp file in the same folder and a rename (creating the folder); a failure leaves no temp file. */
export function writeFileAtomic(path: string, data: string | Uint8Array): E.Either<RunError, void> {
  const tmp = tempPathFor(path);
  try {
    makeParents(dirname(path));
    writeFileSync(tmp, data);
    renameSync(tmp, path);
    return E.right(undefined);
  } catch (cause) {
    rmSync(tmp, { force: true });
    return E.left(ioError(path, 'cannot write', cause));
  }
}

export const writeJsonAtomic = (path: string, value: unknown): E.Either<RunError, void> => writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);

/** The JSON sidecar beside a run's TSV. */
export const sidecarPath = (tsvPath: string): string => `${tsvPath}.json`;

/**
 * Checks, before any work starts, that `path` is not a folder, that its folder exists (creating it) and is
 * writable, and that the files written beside it (`path` + each of `companions`) have names the file system takes.
 */
export function ensureWritable(path: string, companions: readonly string[] = ['.json', '.lock']): E.Either<RunError, void> {
  const longest = companions.reduce((a, c) => (Buffer.byteLength(c) > Buffer.byteLength(a) ? c : a), '');
  const nameBytes = Buffer.byteLength(basename(path));
  if (nameBytes + Buffer.byteLength(longest) > NAME_MAX) {
    const most = NAME_MAX - Buffer.byteLength(longest);
    const cause = `its name has ${nameBytes} bytes, so the file '<name>${longest}' beside it would pass the ${NAME_MAX}-byte limit of file names (use at most ${most} bytes)`;
    return E.left({ kind: 'output-not-writable', path, cause, message: `cannot write ${path}: ${cause}` });
  }
  try {
    if (existsSync(path) && statSync(path).isDirectory()) throw new Error('it is a folder');
    makeParents(dirname(path));
    if (!statSync(dirname(path)).isDirectory()) throw new Error(`${dirname(path)} is not a folder`);
    accessSync(dirname(path), constants.W_OK);
    if (existsSync(path)) accessSync(path, constants.W_OK);
    return E.right(undefined);
  } catch (cause) {
    return E.left({ kind: 'output-not-writable', path, cause: message(cause), message: `cannot write ${path}: ${message(cause)}; choose a writable path` });
  }
}

/** Reads a whole text file; a missing or unreadable one is an `io` error naming it. */
export function readText(path: string): E.Either<RunError, string> {
  try {
    return E.right(readFileSync(path, 'utf8'));
  } catch (cause) {
    return E.left(ioError(path, 'cannot read', cause));
  }
}

/**
 * An append-only Cohen TSV: every row is written whole and fsync'd before the next image starts, so a kill
 * loses at most the image in progress. Opening an existing file drops a torn last line.
 */
export class RowLog {
  private constructor(
    private readonly fd: number,
    readonly existing: CertifyRow[],
  ) {}

  static open(path: string): E.Either<RunError, RowLog> {
    try {
      const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
      if (text === '') {
        const fd = openSync(path, 'w');
        writeSync(fd, `${COHEN_HEADER}\n`);
        fsyncSync(fd);
        return E.right(new RowLog(fd, []));
      }
      const parsed = parseCohenTsv(text, path);
      if (E.isLeft(parsed)) return parsed;
      // Drop a torn last line left by a kill in the middle of a write.
      const rw = openSync(path, 'r+');
      ftruncateSync(rw, parsed.right.completeBytes);
      closeSync(rw);
      return E.right(new RowLog(openSync(path, 'a'), parsed.right.rows));
    } catch (cause) {
      return E.left(ioError(path, 'cannot open', cause));
    }
  }

  append(row: CertifyRow): void {
    writeSync(this.fd, `${formatRow(row)}\n`);
    fsyncSync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
  }
}
