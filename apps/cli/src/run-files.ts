import { closeSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync, existsSync, accessSync, constants } from 'node:fs';
import { dirname } from 'node:path';
import { CliError } from './errors.js';
import { COHEN_HEADER, type CertifyRow, formatRow, parseCohenTsv } from './tsv.js';

/**
 * mkdir -p, one level at a time: Node's recursive mkdirSync can spin forever on pseudo file systems such as
 * /proc, where a plain mkdir fails at once.
 */
function makeParents(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) mkdirSync(d);
}

/** Writes JSON through a temp file and rename, so a reader never sees half a sidecar. */
export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, path);
}

export const sidecarPath = (tsvPath: string): string => `${tsvPath}.json`;

/** Checks that `path`'s folder exists (creating it) and is writable, before any work starts. */
export function ensureWritable(path: string): void {
  try {
    makeParents(dirname(path));
    accessSync(dirname(path), constants.W_OK);
    if (existsSync(path)) accessSync(path, constants.W_OK);
  } catch (cause) {
    throw new CliError(`cannot write --out ${path}: ${cause instanceof Error ? cause.message : String(cause)}; choose a writable path`);
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

  static open(path: string): RowLog {
    let existing: CertifyRow[] = [];
    let fd: number;
    try {
      const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
      if (text !== '') {
        const parsed = parseCohenTsv(text, path);
        existing = parsed.rows;
        fd = openSync(path, 'r+');
        // Drop a torn last line left by a kill in the middle of a write.
        ftruncateSync(fd, parsed.completeBytes);
        closeSync(fd);
        fd = openSync(path, 'a');
      } else {
        fd = openSync(path, 'w');
        writeSync(fd, `${COHEN_HEADER}\n`);
        fsyncSync(fd);
      }
    } catch (cause) {
      throw new CliError(`cannot open --out ${path}: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
    return new RowLog(fd, existing);
  }

  append(row: CertifyRow): void {
    writeSync(this.fd, `${formatRow(row)}\n`);
    fsyncSync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
  }
}
