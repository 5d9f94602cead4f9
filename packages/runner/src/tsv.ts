// Cohen et al.'s certify output: `idx label predict radius correct time`, tab-separated, header first.
// Their analyze.py and most follow-up code read exactly this, so the columns and header stay as they are.
import { either as E } from 'fp-ts';
import type { RunError } from './errors.js';

export const COHEN_HEADER = 'idx\tlabel\tpredict\tradius\tcorrect\ttime';

export interface CertifyRow {
  readonly idx: number;
  readonly label: number;
  /** -1 on abstain. */
  readonly predict: number;
  readonly radius: number;
  readonly correct: 0 | 1;
  /** Seconds spent on this image. */
  readonly seconds: number;
}

/** Python's str(datetime.timedelta(seconds=s)) for s < 1 day: H:MM:SS or H:MM:SS.ffffff. */
export function formatElapsed(seconds: number): string {
  const micros = Math.round(seconds * 1e6);
  const h = Math.floor(micros / 3.6e9);
  const m = Math.floor((micros % 3.6e9) / 6e7);
  const s = Math.floor((micros % 6e7) / 1e6);
  const frac = micros % 1e6;
  const base = `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  return frac === 0 ? base : `${base}.${String(frac).padStart(6, '0')}`;
}

/** A rough duration for progress lines: 42s, 3m05s, 2h07m; '?' when unknown. */
export const formatDuration = (seconds: number): string => {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
};

export function parseElapsed(text: string): number {
  const m = /^(?:(\d+) days?, )?(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(text.trim());
  if (m === null) return Number.NaN;
  return Number(m[1] ?? 0) * 86400 + Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]);
}

/**
 * One row. Radius is written with 6 decimals (Cohen writes 3 significant digits; 6 decimals keeps backend
 * comparisons at 1e-3 meaningful and parses the same way in pandas).
 */
/** A Cohen row: `label` certified with `radius`, or abstain (radius null: predict -1, radius 0). */
export function certifyRow(sample: { readonly label: number }, idx: number, label: number, radius: number | null, seconds: number): CertifyRow {
  const predict = radius === null ? -1 : label;
  return { idx, label: sample.label, predict, radius: radius ?? 0, correct: predict === sample.label ? 1 : 0, seconds };
}

export function formatRow(row: CertifyRow): string {
  return `${row.idx}\t${row.label}\t${row.predict}\t${row.radius.toFixed(6)}\t${row.correct}\t${formatElapsed(row.seconds)}`;
}

export interface ParsedTsv {
  readonly rows: CertifyRow[];
  /** Byte length of the header and complete rows: anything after it is a torn last line. */
  readonly completeBytes: number;
}

/**
 * Reads a Cohen-format TSV. Only lines ending in a newline with six well-formed fields count; a torn last line
 * (the process was killed mid-write) is left out and reported through `completeBytes`.
 */
export function parseCohenTsv(text: string, source = 'TSV'): E.Either<RunError, ParsedTsv> {
  const lines = text.split('\n');
  if (!hasCohenHeader(lines[0] ?? '')) {
    return E.left({ kind: 'tsv-format', path: source, line: 1, message: `${source}: the first line must be the header '${COHEN_HEADER.replace(/\t/g, ' ')}' (tab-separated)` });
  }
  const header = lines[0]!.split('\t').map((c) => c.trim());
  const at = (name: string): number => header.indexOf(name);
  const rows: CertifyRow[] = [];
  let completeBytes = Buffer.byteLength(lines[0]!) + 1;
  // The last element is what follows the final newline: empty for a clean file, a torn row otherwise.
  for (let i = 1; i < lines.length - 1; i++) {
    const line = lines[i]!;
    if (line.trim() === '') {
      completeBytes += Buffer.byteLength(line) + 1;
      continue;
    }
    const f = line.split('\t');
    const num = (name: string): number => Number(f[at(name)]);
    const correct = num('correct');
    const row: CertifyRow = {
      idx: num('idx'),
      label: num('label'),
      predict: num('predict'),
      radius: num('radius'),
      correct: correct === 1 ? 1 : 0,
      seconds: parseElapsed(f[at('time')] ?? ''),
    };
    if (![row.idx, row.label, row.predict, row.radius].every(Number.isFinite) || (correct !== 0 && correct !== 1)) {
      return E.left({ kind: 'tsv-format', path: source, line: i + 1, message: `${source}: line ${i + 1} is not a valid row: '${line}'` });
    }
    rows.push(row);
    completeBytes += Buffer.byteLength(line) + 1;
  }
  return E.right({ rows, completeBytes });
}

/** Whether a first line holds every Cohen column (in any order, as pandas reads them). */
export function hasCohenHeader(line: string): boolean {
  const cols = line.split('\t').map((c) => c.trim());
  return COHEN_HEADER.split('\t').every((c) => cols.includes(c));
}

/** Radii at which certify runs report certified accuracy. */
export const DEFAULT_RADII = [0, 0.25, 0.5, 0.75, 1.0] as const;

/**
 * Certified accuracy at radius r: the fraction of rows that are correct with radius >= r — exactly
 * `(df["correct"] & (df["radius"] >= r)).mean()` of Cohen et al.'s analyze.py.
 */
export function certifiedAccuracy(rows: readonly CertifyRow[], radius: number): number {
  if (rows.length === 0) return Number.NaN;
  return rows.filter((r) => r.correct === 1 && r.radius >= radius).length / rows.length;
}

export interface RunSummary {
  readonly images: number;
  readonly certifiedAccuracy: { readonly radius: number; readonly accuracy: number }[];
  readonly abstainRate: number;
  readonly meanSeconds: number;
}

export function summarize(rows: readonly CertifyRow[], radii: readonly number[] = DEFAULT_RADII): RunSummary {
  return {
    images: rows.length,
    certifiedAccuracy: radii.map((radius) => ({ radius, accuracy: certifiedAccuracy(rows, radius) })),
    abstainRate: rows.length === 0 ? Number.NaN : rows.filter((r) => r.predict === -1).length / rows.length,
    meanSeconds: rows.length === 0 ? Number.NaN : rows.reduce((s, r) => s + r.seconds, 0) / rows.length,
  };
}
