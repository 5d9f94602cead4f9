import { Command, CommanderError, Option } from 'commander';
import Table from 'cli-table3';
import { either as E } from 'fp-ts';
import { type OutcomeRecorder, exitCodeOf, outcomeRecorder, registerInstalledBackends } from '@densepure/app-kit';
import { type CostSummary, type RunSummary, methodReads } from '@densepure/runner';
import { certifyCommand } from './certify.js';
import { runDenoise } from './denoise.js';
import { addMethodOptions, addModeOptions, addModelOptions, parseNumber, parseWhole } from './flags.js';
import { runInfo } from './info.js';
import { registerManifestCommand } from './manifest.js';
import { predictCommand } from './predict.js';
import { workerCommand } from './queue.js';
import { addServeCommand, serveCommand } from './serve.js';
import { VERSION } from './version.js';

export function printSummary(summary: RunSummary, out: NodeJS.WritableStream = process.stdout): void {
  const table = new Table({ head: ['radius', ...summary.certifiedAccuracy.map((c) => c.radius.toFixed(2))], style: { head: [], border: [] } });
  table.push(['certified accuracy', ...summary.certifiedAccuracy.map((c) => (Number.isNaN(c.accuracy) ? '-' : c.accuracy.toFixed(3)))]);
  out.write(`${table.toString()}\n`);
  out.write(`images: ${summary.images}   abstain rate: ${summary.abstainRate.toFixed(3)}   mean time per image: ${summary.meanSeconds.toFixed(2)} s\n`);
}

/** Mean draws and model evaluations per image. */
export function formatCost(cost: CostSummary): string {
  if (cost.images === 0) return 'cost per image: - (no cost records)';
  const r = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(1));
  const draws = cost.meanDraws.selection + cost.meanDraws.estimation;
  return `mean per image (${cost.images} images): ${r(draws)} draws (${r(cost.meanDraws.selection)} selection + ${r(cost.meanDraws.estimation)} estimation), ${r(cost.meanEvaluations.denoiser)} denoiser and ${r(cost.meanEvaluations.classifier)} classifier evaluations`;
}

/**
 * A sequential run against fixed N at its cap: what fixed-N CERTIFY with the same N0 and N would have made per
 * image, at the evaluations per draw this run made (the decided-vote stop applies to both alike), and the saving.
 */
export function formatSaving(cost: CostSummary, n0: number, n: number): string | null {
  const draws = cost.meanDraws.selection + cost.meanDraws.estimation;
  if (cost.images === 0 || draws === 0 || cost.meanEvaluations.denoiser === 0) return null;
  const fixed = (n0 + n) * (cost.meanEvaluations.denoiser / draws);
  const r = (x: number): string => Math.round(x).toLocaleString('en-US');
  return `against fixed N = ${r(n)} (${r(n0 + n)} draws per image, ${r(fixed)} denoiser evaluations at this run's rate per draw): ${(fixed / cost.meanEvaluations.denoiser).toFixed(1)}x fewer, ${r(fixed - cost.meanEvaluations.denoiser)} evaluations saved per image`;
}

export function buildProgram(outcomes: OutcomeRecorder = outcomeRecorder()): Command {
  const program = new Command('densepure')
    .description('Certify the L2 robustness of image classifiers with diffusion-model purification (DensePure, DDS) and randomized smoothing.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  addModeOptions(addMethodOptions(addModelOptions(program.command('certify').description("Cohen et al.'s CERTIFY over a dataset slice: a Cohen-format TSV + JSON sidecar + per-row costs (<out>.cost), resumable"))))
    .option('--N0 <n>', 'draws that select the top class', parseWhole('--N0', 1), 100)
    .option('--N <n>', 'draws that estimate its probability (sequential: the most it may use)', parseWhole('--N', 1), 1000)
    .option('--alpha <a>', 'failure probability of the certificate', parseNumber('--alpha'), 0.001)
    .option('--skip <n>', 'certify every skip-th image', parseWhole('--skip', 1), 1)
    .option('--max <n>', 'stop at this dataset index (as in Cohen et al.)', parseWhole('--max', 1))
    .option('--out <path>', 'output TSV (the sidecar is <path>.json); default results/<method>-sigma<s>.tsv')
    .addOption(new Option('--progress <mode>', 'progress on stderr').choices(['auto', 'none']).default('auto'))
    .option('--queue <url>', 'redis://HOST:PORT/DB: spread the images over `densepure worker`s through this Redis (same rows, resumable)')
    .option('--max-draws-per-job <n>', 'with --queue: split an image into jobs of at most this many draws (default: one job per image)', parseWhole('--max-draws-per-job', 1))
    .action(outcomes.action(async (o) => {
      const certified = await certifyCommand(o, process.argv.slice(2));
      if (E.isLeft(certified)) return certified;
      const result = certified.right;
      process.stdout.write(`wrote ${result.out} (${result.rows.length} rows${result.resumedRows > 0 ? `, ${result.resumedRows} resumed` : ''}) and ${result.sidecar}\n`);
      process.stdout.write(`${result.description}${result.tStar === undefined ? '' : `, t* = ${result.tStar}`}, ${methodReads(result.method).from === 'chains' ? `at most ${result.denoiserEvalsPerDraw} denoiser evaluations per draw (every vote run to the end; the decided-vote stop runs fewer: the mean is below)` : `${result.denoiserEvalsPerDraw} denoiser evaluations per draw`}\n`);
      printSummary(result.summary);
      process.stdout.write(`${formatCost(result.cost)}; per row: ${result.costFile}\n`);
      const saving = result.mode.kind === 'sequential' ? formatSaving(result.cost, o.N0, o.N) : null;
      if (saving !== null) process.stdout.write(`${saving}\n`);
      return E.right(undefined);
    }));

  addMethodOptions(addModelOptions(program.command('predict').description("Cohen et al.'s PREDICT: a label or abstain per image (two-sided binomial test)")))
    .option('--N <n>', 'draws per image', parseWhole('--N', 1), 1000)
    .option('--alpha <a>', 'test level', parseNumber('--alpha'), 0.001)
    .option('--skip <n>', 'every skip-th image', parseWhole('--skip', 1), 1)
    .option('--max <n>', 'stop at this dataset index', parseWhole('--max', 1))
    .option('--out <path>', 'output TSV: idx label predict correct time (written whole at the end)')
    .action(outcomes.action(predictCommand));

  addMethodOptions(addModelOptions(program.command('denoise').description('picture of clean / noisy / purified samples (PNG grid)')))
    .requiredOption('--png <path>', 'output PNG')
    .option('--count <n>', 'images (columns)', parseWhole('--count', 1), 8)
    .option('--skip <n>', 'every skip-th image', parseWhole('--skip', 1), 1)
    .option('--rows <n>', 'purified samples (votes) per image', parseWhole('--rows', 1), 2)
    .option('--scale <n>', 'pixel upscaling for viewing', parseWhole('--scale', 1), 3)
    .action(outcomes.action(runDenoise));

  program
    .command('worker')
    .description('take certify jobs (densepure certify --queue) and certificate servers\' draws (densepure serve --queue) from a queue with this machine\'s backend and device, until stopped')
    .requiredOption('--queue <url>', 'redis://HOST:PORT/DB, as given to certify --queue')
    .option('--backend <name>', "backend for the models (default: the run's; another one changes the results, so the run is refused)")
    .option('--device <device>', 'device for the backend: onnx: cpu | cuda; tfjs: wasm | cpu | tfjs-node | tfjs-node-gpu | webgpu[:vulkan|opengles|...]')
    .option('--workers <n>', 'worker threads with one model session each (0 = run in the main thread)', parseWhole('--workers', 0), 0)
    .option('--threads <n>', 'intra-op threads per session', parseWhole('--threads', 1))
    .option('--name <name>', 'this worker in progress lines and refusals (default: host:pid)')
    .option('--idle-exit <s>', 'exit once no run has been open for this many seconds (default: serve until stopped)', parseWhole('--idle-exit', 1))
    .option('--models <paths...>', "models this worker may load: manifests, model files or folders of manifests; a run's models are found among them by sha256, its paths are never opened (the shipped 'default' models always)")
    .option('--data <paths...>', "datasets this worker may read: files or folders (and what lies below them); a run naming another is refused (the shipped 'default' dataset always)")
    .option('--jobs-at-once <n>', "a certificate server's draws jobs taken at once, their model calls merged", parseWhole('--jobs-at-once', 1), 8)
    .option('--stop-grace <s>', 'on SIGINT/SIGTERM, give up the job in progress after this many seconds (another worker takes it over)', parseWhole('--stop-grace', 0), 10)
    .addOption(new Option('--progress <mode>', 'log lines on stderr').choices(['auto', 'none']).default('auto'))
    .action(outcomes.action(workerCommand));

  program
    .command('info')
    .description('backends found (runtime, devices, why others were not picked) and model / dataset metadata; exits 1 when a model does not load')
    .argument('[models...]', 'model files or manifests to check (manifest, sha256, graph, one run) instead of --denoiser/--classifier')
    .option('--denoiser <spec>', 'diffusion model to describe', 'default')
    .option('--classifier <spec>', 'classifier to describe', 'default')
    .option('--dataset <spec>', 'dataset to describe', 'default')
    .option('--backend <name>', 'load the models with this backend')
    .option('--json', 'machine-readable output', false)
    .action(outcomes.action((models: string[], o) => runInfo(o, models)));

  addServeCommand(program, outcomes.action((o) => serveCommand(o, process.argv.slice(2))));

  registerManifestCommand(program, outcomes);

  return program;
}

/**
 * Runs the CLI and returns the exit code instead of exiting, so tests can call it: 0 for success, help and
 * version; 2 for usage errors (commander has printed them); else the code of the failure the command returned
 * (@densepure/app-kit: 2 for input to change, 1 for files, models or the machine).
 */
export async function main(argv: readonly string[]): Promise<number> {
  await registerInstalledBackends();
  const outcomes = outcomeRecorder();
  return exitCodeOf(
    async () => {
      await buildProgram(outcomes).parseAsync([...argv], { from: 'user' });
      return outcomes.outcome;
    },
    (error) => (error instanceof CommanderError ? (['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code) ? 0 : 2) : undefined),
  );
}
