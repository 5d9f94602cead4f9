// `densepure-eval analyze`: certified accuracy of one Cohen-format TSV at given radii, the numbers Cohen et al.'s
// analyze.py computes for it: `(df["correct"] & (df["radius"] >= r)).mean()`, printed as Python prints floats.
import { readFileSync } from 'node:fs';
import { type CertifyRow, DEFAULT_RADII, certifiedAccuracy, parseCohenTsv } from '@densepure/cli';
import { pyFloat } from './format.js';

export interface AnalyzeResult {
  readonly rows: readonly CertifyRow[];
  readonly accuracies: { readonly radius: number; readonly accuracy: number }[];
}

export function analyzeFile(path: string, radii: readonly number[] = DEFAULT_RADII): AnalyzeResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new Error(`cannot read ${path}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
  const { rows } = parseCohenTsv(text, path);
  if (rows.length === 0) throw new Error(`${path} has a header but no rows: nothing to analyze`);
  return { rows, accuracies: radii.map((radius) => ({ radius, accuracy: certifiedAccuracy(rows, radius) })) };
}

/** `radius<TAB>certified_accuracy`, one line per radius. */
export const formatAnalysis = (result: AnalyzeResult): string =>
  ['radius\tcertified_accuracy', ...result.accuracies.map((a) => `${pyFloat(a.radius)}\t${pyFloat(a.accuracy)}`)].join('\n') + '\n';
