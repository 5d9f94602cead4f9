import { join } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { either as E } from 'fp-ts';
import { type Failure, type Outcome, type OutcomeRecorder, exitCodeOf, interruptedFailure, outcomeRecorder, queueFailure, registerInstalledBackends, stopOnSignals, usageFailure } from '@densepure/app-kit';
import { DEFAULT_RADII } from '@densepure/runner';
import { analyzeMain } from './analyze.js';
import { describeEvalError } from './errors.js';
import { type Experiment, expandGrid, readExperiment } from './experiment.js';
import { parseRadii } from './format.js';
import { type GridResult, type RunGridOptions, cellPath, runGrid } from './grid.js';
import { VERSION } from './version.js';

const radiiOption = (value: string): number[] => {
  const radii = parseRadii(value, '--radii');
  if (E.isLeft(radii)) throw new InvalidArgumentError(radii.left.message);
  return radii.right;
};

const wholeOption = (name: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number >= 1, got '${value}'`);
  return n;
};

/**
 * `run --queue`: the grid's cells certified on queue workers (BullMQ is loaded only here). Ctrl-C or kill stops
 * the cell in progress cleanly (its rows stay, its jobs stay queued, the coordinator's lease is given back), so a
 * rerun resumes at once.
 */
async function runGridQueued(experiment: Experiment, options: RunGridOptions, url: string, maxDrawsPerJob: number | undefined): Promise<E.Either<Failure, GridResult>> {
  const q = await import('@densepure/queue');
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const { result, signal } = await stopOnSignals(
    async (stop): Promise<E.Either<Failure, GridResult>> => {
      const queued = await q.queueSchedulerFromUrl(url, { log, signal: stop, ...(maxDrawsPerJob === undefined ? {} : { maxDrawsPerJob }) })();
      if (E.isLeft(queued)) return E.left(queueFailure(queued.left));
      log(`queue ${queued.right.url}: waiting for workers (start them with: densepure worker --queue ${queued.right.url})`);
      return E.mapLeft(describeEvalError)(await runGrid(experiment, { ...options, scheduler: queued.right.scheduler })());
    },
    () => log('stopping: the rows written stay, the jobs stay queued for a rerun (signal again to stop at once)'),
  );
  return signal !== null && E.isLeft(result) ? E.left(interruptedFailure(result.left.message, signal)) : result;
}

const f3 = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(3));

export function formatGridSummary(result: GridResult): string {
  const radii = result.cells[0]?.summary.certifiedAccuracy.map((c) => c.radius) ?? [...DEFAULT_RADII];
  const head = ['cell', 'images', ...radii.map((r) => `r=${r}`), 'abstain', 's/image', 'draws/image', 'denoiser evals/image', 'classifier evals/image', 'this run'];
  const mean = (x: number): string => (Number.isNaN(x) ? '-' : String(Math.round(x)));
  const body = result.cells.map((c) => [
    c.cell.id,
    String(c.rows),
    ...c.summary.certifiedAccuracy.map((a) => f3(a.accuracy)),
    f3(c.summary.abstainRate),
    Number.isNaN(c.summary.meanSeconds) ? '-' : c.summary.meanSeconds.toFixed(2),
    mean(c.cost.meanDraws.selection + c.cost.meanDraws.estimation),
    mean(c.cost.meanEvaluations.denoiser),
    mean(c.cost.meanEvaluations.classifier),
    c.outcome,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (row: string[]): string => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

export function buildProgram(outcomes: OutcomeRecorder = outcomeRecorder()): Command {
  const program = new Command('densepure-eval')
    .description('Run grids of certify experiments (plain Gaussian smoothing vs diffusion denoised smoothing vs DensePure) and report certified accuracy.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('run')
    .description('run every cell (method x sigma x backend) of an experiment file; complete cells are skipped, partial ones resume')
    .argument('<experiment>', 'experiment file (YAML or JSON), e.g. experiments/mnist-small.yaml')
    .option('--results <dir>', 'folder for results: each cell writes <dir>/<experiment name>/<cell id>.tsv + .tsv.json', 'results')
    .option('--cells <text>', "run only the cells whose id contains this text (e.g. 'sigma0.25'): split a grid across processes or machines")
    .option('--dry-run', 'check the file and list the cells and their output files without running anything', false)
    .option('--queue <url>', 'redis://HOST:PORT/DB: certify each cell on `densepure worker`s through this Redis (same rows, resumable)')
    .option('--max-draws-per-job <n>', 'with --queue: split an image into jobs of at most this many draws', wholeOption('--max-draws-per-job'))
    .action(
      outcomes.action(async (file: string, o: { results: string; dryRun: boolean; cells?: string; queue?: string; maxDrawsPerJob?: number }): Promise<Outcome> => {
        // As the CLI does: a split of queued jobs without a queue would be ignored without a word.
        if (o.maxDrawsPerJob !== undefined && o.queue === undefined) {
          return E.left(usageFailure('--max-draws-per-job splits queued jobs: give --queue redis://HOST:PORT/DB too, or drop it'));
        }
        const experiment = await readExperiment(file);
        if (E.isLeft(experiment)) return E.left(describeEvalError(experiment.left));
        if (o.dryRun) {
          for (const cell of expandGrid(experiment.right)) process.stdout.write(`${cell.id}\t${cellPath(join(o.results, experiment.right.name), cell)}\n`);
          return E.right(undefined);
        }
        const options = { resultsRoot: o.results, argv: ['densepure-eval', ...process.argv.slice(2)], ...(o.cells === undefined ? {} : { cells: o.cells }) };
        const result =
          o.queue === undefined ? E.mapLeft(describeEvalError)(await runGrid(experiment.right, options)()) : await runGridQueued(experiment.right, options, o.queue, o.maxDrawsPerJob);
        if (E.isLeft(result)) return result;
        process.stdout.write(`${formatGridSummary(result.right)}\n`);
        process.stdout.write(`results in ${result.right.dir}; tables and plots: densepure-eval report ${result.right.dir}\n`);
        return E.right(undefined);
      }),
    );

  program
    .command('report')
    .description('certified accuracy tables (markdown, CSV), plots (SVG, PNG) and an HTML page from the Cohen-format TSVs under a folder')
    .argument('<results>', 'folder with Cohen-format TSVs (densepure sidecars <file>.json are used when present)')
    .option('--out <dir>', 'output folder (default: <results>/report)')
    .option('--radii <list>', `radii of the tables, comma-separated (default ${DEFAULT_RADII.join(',')})`, radiiOption)
    .option('--title <text>', 'title of the plot and page')
    .action(
      outcomes.action(async (dir: string, o: { out?: string; radii?: number[]; title?: string }): Promise<Outcome> => {
        // Loaded here: the renderer (vega, sharp) is for reports only.
        const { buildReport } = await import('./report/index.js');
        const built = await buildReport({ resultsDir: dir, outDir: o.out, radii: o.radii, title: o.title })();
        if (E.isLeft(built)) return E.left(describeEvalError(built.left));
        const report = built.right;
        for (const w of report.warnings) process.stderr.write(`warning: ${w}\n`);
        process.stdout.write(`${report.series.length} series -> ${report.outDir}\n${report.files.map((f) => `  ${f}`).join('\n')}\n`);
        return E.right(undefined);
      }),
    );

  program
    .command('analyze')
    .description("certified accuracy of one Cohen-format TSV at given radii, as Cohen et al.'s analyze.py computes it")
    .argument('<file>', 'Cohen-format TSV: idx label predict radius correct time')
    .option('--radii <list>', `radii, comma-separated (default ${DEFAULT_RADII.join(',')})`);

  return program;
}

/** Commander has printed these: help and version exit 0, usage errors 2. */
const printedByCommander = (error: unknown): number | undefined =>
  error instanceof CommanderError ? (['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code) ? 0 : 2) : undefined;

/** Runs the CLI; returns the exit code (0 ok, 2 bad usage or experiment file, 1 anything else). */
export async function main(argv: readonly string[]): Promise<number> {
  // Listed in the program's help, run without it (see analyzeMain).
  if (argv[0] === 'analyze') return analyzeMain(argv.slice(1));
  await registerInstalledBackends();
  const outcomes = outcomeRecorder();
  return exitCodeOf(async () => {
    await buildProgram(outcomes).parseAsync([...argv], { from: 'user' });
    return outcomes.outcome;
  }, printedByCommander);
}
