// Certified accuracy tables: one row per series (method, sigma) and a "best over sigma" row per method (the max
// over sigmas at each radius, as DensePure and Carlini et al. report it), each accuracy with its 95%
// Clopper-Pearson interval over the images, so the sampling uncertainty of a small test set is visible.
import { certifiedAccuracy } from '@densepure/runner';
import { binomialTestTwoSided, clopperPearson } from '@densepure/core';
import type { Series } from './load.js';

export const CI_ALPHA = 0.05;

export interface AccuracyCell {
  readonly radius: number;
  /** Images correct with radius >= r. */
  readonly k: number;
  readonly n: number;
  /** k / n: Cohen's `(df["correct"] & (df["radius"] >= r)).mean()`. NaN when n = 0. */
  readonly accuracy: number;
  readonly lower: number;
  readonly upper: number;
  /** For best-over-sigma rows: the sigma that achieved it. */
  readonly sigma?: number | null;
}

export interface SeriesRow {
  readonly series: Series;
  readonly accuracies: AccuracyCell[];
  readonly abstainRate: number;
  readonly meanSeconds: number;
}

export interface BestRow {
  readonly method: string;
  readonly accuracies: AccuracyCell[];
}

/** Two methods on the same images at one radius: images only A certifies correctly, only B, and McNemar's p. */
export interface PairedCell {
  readonly radius: number;
  readonly onlyA: number;
  readonly onlyB: number;
  /** Exact two-sided McNemar test: binomial test of onlyA out of onlyA + onlyB at 1/2 (1 when both are 0). */
  readonly pValue: number;
}

/** A (later in method order, e.g. DensePure) against B (e.g. DDS) at one sigma and backend, paired by image. */
export interface PairedRow {
  readonly a: Series;
  readonly b: Series;
  readonly images: number;
  /** Whether both runs also shared their noise draws (densepure-eval shareDraws). */
  readonly sharedDraws: boolean;
  readonly cells: PairedCell[];
}

export interface Tables {
  readonly radii: readonly number[];
  readonly rows: SeriesRow[];
  readonly best: BestRow[];
  readonly paired: PairedRow[];
}

const certifiedAt = (row: Series['rows'][number], radius: number): boolean => row.correct === 1 && row.radius >= radius;

/**
 * Paired comparisons of every two series with the same sigma and backend over exactly the same images: the
 * certified accuracies of two methods on one test set are correlated, so their difference is judged on the
 * images where they disagree (McNemar), not by comparing the two separate intervals.
 */
export function pairedComparisons(rows: readonly SeriesRow[], radii: readonly number[]): PairedRow[] {
  const out: PairedRow[] = [];
  const usable = rows.map((r) => r.series).filter((s) => s.rows.length > 0);
  const key = (s: Series): string => s.rows.map((r) => r.idx).sort((x, y) => x - y).join(',');
  for (const [j, a] of usable.entries()) {
    for (const b of usable.slice(0, j)) {
      if (a.sigma !== b.sigma || a.backend !== b.backend || a.method === b.method || key(a) !== key(b)) continue;
      const byIdx = new Map(b.rows.map((r) => [r.idx, r]));
      const cells = radii.map((radius) => {
        let onlyA = 0;
        let onlyB = 0;
        for (const ra of a.rows) {
          const ca = certifiedAt(ra, radius);
          const cb = certifiedAt(byIdx.get(ra.idx)!, radius);
          if (ca && !cb) onlyA += 1;
          if (cb && !ca) onlyB += 1;
        }
        return { radius, onlyA, onlyB, pValue: onlyA + onlyB === 0 ? 1 : binomialTestTwoSided(onlyA, onlyA + onlyB, 0.5) };
      });
      const shared = (s: Series): string[] => ((s.sidecar?.sharedDraws as { methods?: string[] } | undefined)?.methods ?? []);
      const sharedDraws = shared(a).length > 0 && JSON.stringify(shared(a)) === JSON.stringify(shared(b));
      out.push({ a, b, images: a.rows.length, sharedDraws, cells });
    }
  }
  return out.sort((x, y) => (x.a.sigma ?? Infinity) - (y.a.sigma ?? Infinity));
}

export function accuracyAt(rows: Series['rows'], radius: number): AccuracyCell {
  const n = rows.length;
  const k = rows.filter((r) => r.correct === 1 && r.radius >= radius).length;
  if (n === 0) return { radius, k, n, accuracy: Number.NaN, lower: Number.NaN, upper: Number.NaN };
  const ci = clopperPearson(k, n, CI_ALPHA);
  return { radius, k, n, accuracy: certifiedAccuracy(rows, radius), lower: ci.lower, upper: ci.upper };
}

const mean = (xs: readonly number[]): number => (xs.length === 0 ? Number.NaN : xs.reduce((s, x) => s + x, 0) / xs.length);

export function buildTables(series: readonly Series[], radii: readonly number[]): Tables {
  const rows = series.map((s) => ({
    series: s,
    accuracies: radii.map((r) => accuracyAt(s.rows, r)),
    abstainRate: s.rows.length === 0 ? Number.NaN : s.rows.filter((r) => r.predict === -1).length / s.rows.length,
    meanSeconds: mean(s.rows.map((r) => r.seconds).filter(Number.isFinite)),
  }));
  const methods = [...new Set(series.map((s) => s.method))];
  const best = methods.map((method) => {
    const group = rows.filter((r) => r.series.method === method && r.series.rows.length > 0);
    return {
      method,
      accuracies: radii.map((radius, i) => {
        // Ties go to the first (smallest sigma) series.
        let top: SeriesRow | undefined;
        for (const r of group) if (top === undefined || r.accuracies[i]!.accuracy > top.accuracies[i]!.accuracy) top = r;
        return top === undefined
          ? { radius, k: 0, n: 0, accuracy: Number.NaN, lower: Number.NaN, upper: Number.NaN, sigma: null }
          : { ...top.accuracies[i]!, sigma: top.series.sigma };
      }),
    };
  });
  return { radii, rows, best, paired: pairedComparisons(rows, radii) };
}

const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '-');
const fSigma = (s: number | null | undefined): string => (s === null || s === undefined ? '?' : String(s));
const fTime = (x: number): string => (Number.isFinite(x) ? (x >= 10 ? x.toFixed(1) : x.toFixed(2)) : '-');
const fEvals = (x: number | null): string => (x === null ? '-' : String(Math.round(x)));
const accText = (a: AccuracyCell): string => (Number.isNaN(a.accuracy) ? '-' : `${f3(a.accuracy)} [${f3(a.lower)}, ${f3(a.upper)}]`);
const radiusHeader = (r: number): string => `r = ${r}`;

const fP = (p: number): string => (p < 0.001 ? '<0.001' : p.toFixed(3));

export const PAIRED_NOTE =
  'Two methods on the same images (same σ): +a / −b counts the images only the first / only the second certifies correctly at radius ≥ r; p is the exact two-sided McNemar test on those images. p < 0.05 marks a difference the test set resolves; a larger p means the images cannot tell the two apart.';

/** Plain table cells, shared by the markdown and HTML renderings. */
export function tableCells(t: Tables): { series: { head: string[]; body: string[][] }; best: { head: string[]; body: string[][] }; paired: { head: string[]; body: string[][] } } {
  return {
    paired: {
      head: ['first vs second', 'σ', 'images', 'same noise draws', ...t.radii.map(radiusHeader)],
      body: t.paired.map((p) => [
        `${p.a.method} vs ${p.b.method}`,
        fSigma(p.a.sigma),
        String(p.images),
        p.sharedDraws ? 'yes' : 'no',
        ...p.cells.map((c) => `+${c.onlyA} / −${c.onlyB}, p ${fP(c.pValue)}`),
      ]),
    },
    series: {
      head: ['method', 'σ', 'backend', 'images', ...t.radii.map(radiusHeader), 'abstain', 's / image', 'denoiser evals / image', 'status', 'file'],
      body: t.rows.map((r) => [
        r.series.method,
        fSigma(r.series.sigma),
        r.series.backend ?? '-',
        String(r.series.rows.length),
        ...r.accuracies.map(accText),
        f3(r.abstainRate),
        // Runs that shared their draws report the wall time of the whole shared evaluation.
        r.series.sidecar?.sharedDraws === undefined ? fTime(r.meanSeconds) : `${fTime(r.meanSeconds)} (shared)`,
        fEvals(r.series.denoiserEvalsPerImage),
        r.series.status,
        r.series.file,
      ]),
    },
    best: {
      head: ['method', ...t.radii.map(radiusHeader)],
      // No sigma where nothing is certified: every sigma ties at 0.
      body: t.best.map((b) => [b.method, ...b.accuracies.map((a) => (Number.isNaN(a.accuracy) ? '-' : a.k === 0 ? accText(a) : `${accText(a)} (σ=${fSigma(a.sigma)})`))]),
    },
  };
}

const mdEscape = (s: string): string => s.replace(/\|/g, '\\|');
const mdTable = (head: string[], body: string[][]): string =>
  [`| ${head.map(mdEscape).join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...body.map((row) => `| ${row.map(mdEscape).join(' | ')} |`)].join('\n');

export function markdownReport(t: Tables, title: string): string {
  const cells = tableCells(t);
  return [
    `# ${title}`,
    '',
    `Certified accuracy at L2 radius r: the fraction of test images classified correctly and certified at radius >= r, with its 95% Clopper-Pearson interval over the images in brackets.`,
    '',
    '## Per method and σ',
    '',
    mdTable(cells.series.head, cells.series.body),
    '',
    ...(t.rows.some((r) => r.series.sidecar?.sharedDraws !== undefined)
      ? ['"(shared)": the runs of one σ were evaluated together on the same noise draws (densepure-eval shareDraws); the time is that of the whole shared evaluation, while denoiser evals / image is what the method costs alone.', '']
      : []),
    '## Best over σ',
    '',
    'At each radius, the best certified accuracy over the noise levels of a method (as DensePure and Carlini et al. report it), with the σ that achieves it.',
    '',
    mdTable(cells.best.head, cells.best.body),
    '',
    ...(cells.paired.body.length === 0 ? [] : ['## Paired comparisons', '', PAIRED_NOTE, '', mdTable(cells.paired.head, cells.paired.body), '']),
  ].join('\n');
}

const csvField = (v: string | number | null | undefined): string => {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? (Number.isNaN(v) ? '' : String(v)) : v;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** The paired comparisons as CSV, one line per pair and radius. */
export function pairedCsv(t: Tables): string {
  const lines = ['first,second,sigma,backend,images,same_noise_draws,radius,only_first,only_second,mcnemar_p'];
  for (const p of t.paired) {
    for (const c of p.cells) {
      lines.push([p.a.method, p.b.method, p.a.sigma, p.a.backend, p.images, p.sharedDraws ? 'yes' : 'no', c.radius, c.onlyA, c.onlyB, c.pValue].map(csvField).join(','));
    }
  }
  return `${lines.join('\n')}\n`;
}

/** One CSV for both kinds of row (`row` = series | best-over-sigma); full precision numbers. */
export function csvReport(t: Tables): string {
  const head = [
    'row', 'method', 'sigma', 'backend', 'images',
    ...t.radii.flatMap((r) => [`acc@${r}`, `ci_low@${r}`, `ci_high@${r}`, `best_sigma@${r}`]),
    'abstain_rate', 'mean_seconds', 'denoiser_evals_per_image', 'status', 'file',
  ];
  const lines = [head.join(',')];
  for (const r of t.rows) {
    lines.push(
      [
        'series', r.series.method, r.series.sigma, r.series.backend, r.series.rows.length,
        ...r.accuracies.flatMap((a) => [a.accuracy, a.lower, a.upper, null]),
        r.abstainRate, r.meanSeconds, r.series.denoiserEvalsPerImage, r.series.status, r.series.file,
      ].map(csvField).join(','),
    );
  }
  for (const b of t.best) {
    lines.push(['best-over-sigma', b.method, null, null, null, ...b.accuracies.flatMap((a) => [a.accuracy, a.lower, a.upper, a.sigma]), null, null, null, null, null].map(csvField).join(','));
  }
  return `${lines.join('\n')}\n`;
}
