// Finds the Cohen-format TSVs under a results folder and pairs each with its densepure sidecar when it has one.
// Without a sidecar (e.g. a TSV from Cohen et al.'s or Carlini et al.'s Python code) the series is labelled by
// its file name, and sigma is read from the path when it says `sigma_0.25`, `sigma0.25` or `noise_0.25`.
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, extname, join, relative, resolve, sep } from 'node:path';
import { either as E } from 'fp-ts';
import {
  type CertifyRow,
  type CostSummary,
  type RunError,
  METHOD_KINDS,
  hasCohenHeader,
  methodLabel,
  methodOrder,
  parseCohenTsv,
  parseMethodSlug,
  readCosts,
  summarizeCosts,
} from '@densepure/runner';

/** The parts of a densepure sidecar the report uses (the whole object is kept for the HTML page). */
export interface Sidecar {
  readonly status?: string;
  readonly identity?: Record<string, unknown>;
  readonly method?: string;
  readonly denoiserEvalsPerDraw?: number;
  readonly rows?: number;
  readonly of?: number;
  readonly [key: string]: unknown;
}

export interface Series {
  /** Path relative to the results folder. */
  readonly file: string;
  /** Method name shown in tables and the legend; series with the same one form a "best over sigma" group. */
  readonly method: string;
  /** Sort key of the method: smoothing, dds, densepure by K and steps, then others by name. */
  readonly methodOrder: readonly (number | string)[];
  readonly sigma: number | null;
  readonly backend: string | null;
  readonly rows: readonly CertifyRow[];
  readonly sidecar: Sidecar | null;
  /** complete | running (k/n) | failed | no sidecar */
  readonly status: string;
  /**
   * Mean denoiser evaluations per image as made, from the run's cost file (`<tsv>.cost`); without one,
   * denoiserEvalsPerDraw * (N0 + N) from the sidecar (all votes, fixed N: an upper bound).
   */
  readonly denoiserEvalsPerImage: number | null;
  /** Mean classifier evaluations per image (cost file only). */
  readonly classifierEvalsPerImage: number | null;
  /** The cost file's summary, when the run wrote one. */
  readonly cost: CostSummary | null;
  /** Sequential CERTIFY (the sidecar's identity says so). */
  readonly sequential: boolean;
  readonly warnings: readonly string[];
}

const SKIP_EXT = new Set(['.json', '.md', '.csv', '.html', '.svg', '.png', '.yaml', '.yml', '.txt', '.log']);

function walk(dir: string, skip: string | null, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (skip !== null && resolve(path) === skip) continue;
    if (name.startsWith('.') || name.includes('.tmp-')) continue;
    const st = statSync(path);
    if (st.isDirectory()) walk(path, skip, out);
    else if (st.isFile() && !SKIP_EXT.has(extname(name).toLowerCase())) out.push(path);
  }
}

/** Whether the file's first line is the Cohen header (read from its first 4 KiB only: folders may hold models). */
function startsWithCohenHeader(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const head = buf.subarray(0, n).toString('utf8');
    const newline = head.indexOf('\n');
    return newline !== -1 && hasCohenHeader(head.slice(0, newline));
  } finally {
    closeSync(fd);
  }
}

/** Sort key of a series that names no method of the table: after every method, by name. */
const otherOrder = (name: string): (number | string)[] => [METHOD_KINDS.length, name];

/** Name and sort key of a densepure method slug: the table's kinds in order (DensePure by K, steps and spacing); other names last. */
export function methodName(slug: string): { name: string; order: (number | string)[] } {
  const parsed = parseMethodSlug(slug);
  if (E.isLeft(parsed)) return { name: slug, order: otherOrder(slug) };
  return { name: methodLabel(parsed.right), order: methodOrder(parsed.right) };
}

const SIGMA_IN_PATH = /(?:sigma|noise)[_=-]?(\d+(?:\.\d+)?)/i;
const SIGMA_TOKENS = /[_\-. /]*(?:sigma|noise)[_=-]?\d+(?:\.\d+)?/gi;

/**
 * Method and sigma of a TSV without a sidecar, from its path relative to the results folder:
 * `cohen_sigma0.25.tsv` -> (cohen, 0.25); Cohen et al.'s `resnet110/noise_0.25/test/sigma_0.25` -> (resnet110/test, 0.25).
 */
export function guessFromPath(file: string): { method: string; sigma: number | null } {
  const path = file.split(sep).join('/');
  const bare = path.replace(/\.tsv$/i, '');
  const m = SIGMA_IN_PATH.exec(basename(bare)) ?? SIGMA_IN_PATH.exec(bare);
  const sigma = m === null ? null : Number(m[1]);
  const method = bare.replace(SIGMA_TOKENS, '').replace(/\/{2,}/g, '/').replace(/^[_\-. /]+|[_\-. /]+$/g, '');
  return { method: method === '' ? bare : method, sigma: sigma !== null && Number.isFinite(sigma) ? sigma : null };
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function readSidecar(path: string): { sidecar: Sidecar | null; warning?: string } {
  if (!existsSync(path)) return { sidecar: null };
  try {
    const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return { sidecar: null, warning: `${path} is not a JSON object; ignored` };
    return { sidecar: value as Sidecar };
  } catch (cause) {
    return { sidecar: null, warning: `${path} is not valid JSON (${cause instanceof Error ? cause.message : String(cause)}); ignored` };
  }
}

/**
 * Every Cohen-format TSV under `dir`: files ending in .tsv (which must have the Cohen header) and other files
 * whose first line is the Cohen header (Cohen et al.'s certify writes files without an extension, e.g.
 * `noise_0.25/test/sigma_0.25`). Report outputs, sidecars and other known non-TSV files are not looked at.
 */
export function loadSeries(dir: string, options: { skipDir?: string } = {}): E.Either<RunError, Series[]> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return E.left({ kind: 'io', path: dir, message: `results folder ${dir} does not exist or is not a folder` });
  const files: string[] = [];
  walk(dir, options.skipDir === undefined ? null : resolve(options.skipDir), files);
  const series: Series[] = [];
  for (const path of files) {
    const isTsv = extname(path).toLowerCase() === '.tsv';
    if (!isTsv && !startsWithCohenHeader(path)) continue;
    const text = readFileSync(path, 'utf8');
    const file = relative(dir, path);
    const parsed = parseCohenTsv(text, path);
    if (E.isLeft(parsed)) return parsed;
    const { rows } = parsed.right;
    const { sidecar, warning } = readSidecar(`${path}.json`);
    const warnings = warning === undefined ? [] : [warning];
    const identity = sidecar?.identity ?? {};
    const slug = typeof identity.method === 'string' ? identity.method : null;
    const guessed = guessFromPath(file);
    const sequential = identity.sequential !== undefined && identity.sequential !== null;
    const base = slug === null ? { name: guessed.method, order: otherOrder(guessed.method) } : methodName(slug);
    // Sequential and cascade series are their own methods (own curves, own best-over-sigma rows).
    const cascade = cascadeName(identity.cascade);
    const named = cascade !== null ? { name: `${base.name} (${cascade})`, order: [...base.order, 'cascade', cascade] } : sequential ? { name: `${base.name} (sequential)`, order: [...base.order, 'sequential'] } : base;
    const costs = readCosts(path).filter((c) => rows.some((r) => r.idx === c.idx));
    const cost = costs.length === 0 ? null : summarizeCosts(costs);
    const n0 = num(identity.N0);
    const n = num(identity.N);
    const perDraw = num(sidecar?.denoiserEvalsPerDraw);
    const status =
      sidecar === null
        ? 'no sidecar'
        : sidecar.status === 'complete'
          ? 'complete'
          : `${String(sidecar.status ?? 'unknown')} (${rows.length}/${num(sidecar.of) ?? '?'})`;
    series.push({
      file,
      method: named.name,
      methodOrder: named.order,
      sigma: num(identity.sigma) ?? guessed.sigma,
      backend: typeof identity.backend === 'string' ? identity.backend : null,
      rows,
      sidecar,
      status,
      denoiserEvalsPerImage: cost !== null ? cost.meanEvaluations.denoiser : perDraw !== null && n0 !== null && n !== null ? perDraw * (n0 + n) : null,
      classifierEvalsPerImage: cost?.meanEvaluations.classifier ?? null,
      cost,
      sequential,
      warnings,
    });
  }
  // With several backends in one folder, the backend is part of the method name (each its own curve and group).
  const backends = new Set(series.map((s) => s.backend).filter((b) => b !== null));
  const named = backends.size > 1 ? series.map((s) => (s.backend === null ? s : { ...s, method: `${s.method} [${s.backend}]` })) : series;
  return E.right(named.sort(compareSeries));
}

export const compareKeys = (a: readonly (number | string)[], b: readonly (number | string)[]): number => {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x).localeCompare(String(y));
  }
  return 0;
};

export const compareSeries = (a: Series, b: Series): number =>
  compareKeys(a.methodOrder, b.methodOrder) || a.method.localeCompare(b.method) || (a.sigma ?? Infinity) - (b.sigma ?? Infinity) || a.file.localeCompare(b.file);

/** A cascade run's name tag from its identity (sigmas, p0, sequential), or null for any other run. */
function cascadeName(cascade: unknown): string | null {
  if (cascade === undefined || cascade === null || typeof cascade !== 'object') return null;
  const { sigmas, p0, radii } = cascade as { readonly sigmas?: unknown; readonly p0?: unknown; readonly radii?: unknown };
  return `cascade σ ${Array.isArray(sigmas) ? sigmas.join('/') : '?'}, p0 ${String(p0)}${radii === undefined ? '' : ', sequential'}`;
}
