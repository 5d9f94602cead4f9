// `densepure-eval analyze`: certified accuracy of one Cohen-format TSV at given radii, the numbers Cohen et al.'s
// analyze.py computes for it: `(df["correct"] & (df["radius"] >= r)).mean()`, printed as Python prints floats.
import { parseArgs } from 'node:util';
import { either as E, function as F } from 'fp-ts';
import { reportFailure, runFailure, usageFailure } from '@densepure/app-kit';
import { type CertifyRow, DEFAULT_RADII, type RunError, certifiedAccuracy, parseCohenTsv, readText } from '@densepure/runner';
import { parseRadii, pyFloat } from './format.js';

export interface AnalyzeResult {
  readonly rows: readonly CertifyRow[];
  readonly accuracies: { readonly radius: number; readonly accuracy: number }[];
}

export function analyzeFile(path: string, radii: readonly number[] = DEFAULT_RADII): E.Either<RunError, AnalyzeResult> {
  return F.pipe(
    readText(path),
    E.flatMap((text) => parseCohenTsv(text, path)),
    E.flatMap(({ rows }): E.Either<RunError, AnalyzeResult> =>
      rows.length === 0
        ? E.left({ kind: 'tsv-format', path, message: `${path} has a header but no rows: nothing to analyze` })
        : E.right({ rows, accuracies: radii.map((radius) => ({ radius, accuracy: certifiedAccuracy(rows, radius) })) }),
    ),
  );
}

/** `radius<TAB>certified_accuracy`, one line per radius. */
export const formatAnalysis = (result: AnalyzeResult): string =>
  ['radius\tcertified_accuracy', ...result.accuracies.map((a) => `${pyFloat(a.radius)}\t${pyFloat(a.accuracy)}`)].join('\n') + '\n';

const USAGE = `Usage: densepure-eval analyze [options] <file>

certified accuracy of one Cohen-format TSV at given radii, as Cohen et al.'s analyze.py computes it

Arguments:
  file            Cohen-format TSV: idx label predict radius correct time

Options:
  --radii <list>  radii, comma-separated (default ${DEFAULT_RADII.join(',')})
  -h, --help      display help for command
`;

/**
 * `densepure-eval analyze <file> [--radii list]`: parsed with node's own parseArgs, so reading one TSV loads
 * neither commander nor the report's renderer (sharp, vega). Returns the exit code.
 */
export function analyzeMain(args: readonly string[], out: (text: string) => void = (t) => void process.stdout.write(t)): number {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: { radii: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    return reportFailure(usageFailure(`${error instanceof Error ? error.message : String(error)}\n(run with --help for usage)`));
  }
  if (parsed.values.help === true) {
    out(USAGE);
    return 0;
  }
  if (parsed.positionals.length !== 1) return reportFailure(usageFailure(`analyze takes one file, got ${parsed.positionals.length}\n${USAGE}`));
  const radii = parsed.values.radii === undefined ? E.right([...DEFAULT_RADII]) : parseRadii(parsed.values.radii, '--radii');
  if (E.isLeft(radii)) return reportFailure(usageFailure(radii.left.message));
  const result = analyzeFile(parsed.positionals[0]!, radii.right);
  if (E.isLeft(result)) return reportFailure(runFailure(result.left));
  out(formatAnalysis(result.right));
  return 0;
}
