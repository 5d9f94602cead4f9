// `densepure-eval report`: tables (markdown + CSV), plot (SVG + PNG) and one HTML page from a results folder.
// Everything is computed in memory first and then written file by file through temp file + rename, so a failure
// leaves no half-written report.
import { basename, join, resolve } from 'node:path';
import { either as E, taskEither as TE } from 'fp-ts';
import { DEFAULT_RADII, type RunError, writeFileAtomic } from '@densepure/runner';
import { htmlReport } from './html.js';
import { type Series, loadSeries } from './load.js';
import { plotSpec, renderSvg, svgToPng } from './plot.js';
import { type Tables, buildTables, csvReport, markdownReport, pairedCsv } from './table.js';

export interface ReportOptions {
  readonly resultsDir: string;
  /** Default: <resultsDir>/report. */
  readonly outDir?: string;
  readonly radii?: readonly number[];
  readonly title?: string;
}

export interface ReportResult {
  readonly outDir: string;
  readonly files: string[];
  readonly series: Series[];
  readonly tables: Tables;
  readonly warnings: string[];
}

export const REPORT_FILES = {
  markdown: 'certified-accuracy.md',
  csv: 'certified-accuracy.csv',
  pairedCsv: 'paired-comparisons.csv',
  svg: 'certified-accuracy.svg',
  png: 'certified-accuracy.png',
  html: 'report.html',
} as const;

const distinct = <T>(xs: readonly T[]): T[] => [...new Set(xs)];

/** One line on what the numbers are: images per series and the certify settings from the sidecars. */
export function describeRuns(series: readonly Series[]): string {
  const images = distinct(series.map((s) => s.rows.length)).sort((a, b) => a - b);
  const parts = [images.length === 1 ? `${images[0]} images per series` : `${images[0]}–${images[images.length - 1]} images per series`];
  const ids = series.map((s) => s.sidecar?.identity).filter((i): i is Record<string, unknown> => i !== undefined);
  const setting = (key: string, label: string): void => {
    const values = distinct(ids.map((i) => i[key]).filter((v) => v !== undefined && v !== null).map(String));
    if (values.length > 0) parts.push(`${label} ${values.join(' / ')}`);
  };
  setting('N0', 'N0');
  setting('N', 'N');
  setting('alpha', 'α');
  const cohen = series.filter((s) => s.sidecar === null).length;
  if (cohen > 0) parts.push(`${cohen} series without sidecar`);
  return parts.join(', ');
}

export const buildReport = (options: ReportOptions): TE.TaskEither<RunError, ReportResult> => async () => {
  const resultsDir = options.resultsDir;
  const outDir = options.outDir ?? join(resultsDir, 'report');
  const radii = options.radii ?? DEFAULT_RADII;
  const loaded = loadSeries(resultsDir, { skipDir: outDir });
  if (E.isLeft(loaded)) return loaded;
  const series = loaded.right;
  if (series.length === 0) {
    return E.left({ kind: 'io', path: resultsDir, message: `no Cohen-format TSV (header 'idx label predict radius correct time') under ${resultsDir}` });
  }
  const warnings = series.flatMap((s) => s.warnings);
  const empty = series.filter((s) => s.rows.length === 0);
  if (empty.length > 0) warnings.push(`no rows yet in ${empty.map((s) => s.file).join(', ')}`);

  const title = options.title ?? `Certified accuracy: ${basename(resolve(resultsDir))}`;
  const subtitle = describeRuns(series);
  const tables = buildTables(series, radii);
  const svg = await renderSvg(plotSpec(series, radii, title, subtitle));
  const png = await svgToPng(svg);
  const outputs: [string, string | Uint8Array][] = [
    [REPORT_FILES.markdown, markdownReport(tables, title)],
    [REPORT_FILES.csv, csvReport(tables)],
    [REPORT_FILES.pairedCsv, pairedCsv(tables)],
    [REPORT_FILES.svg, svg],
    [REPORT_FILES.png, png],
    [REPORT_FILES.html, htmlReport({ title, subtitle, svg, tables, series, generatedAt: new Date().toISOString(), warnings })],
  ];
  const files: string[] = [];
  for (const [name, data] of outputs) {
    const path = join(outDir, name);
    const written = writeFileAtomic(path, data);
    if (E.isLeft(written)) return written;
    files.push(path);
  }
  return E.right({ outDir, files, series, tables, warnings });
};
