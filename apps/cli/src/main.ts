import { Command, CommanderError, Option } from 'commander';
import Table from 'cli-table3';
import { runCertify } from './certify-run.js';
import { runDenoise } from './denoise.js';
import { runInfo } from './info.js';
import { registerManifestCommand } from './manifest.js';
import { runPredict } from './predict.js';
import { CliError } from './errors.js';
import { addMethodOptions, addModelOptions, parseNumber, parseWhole } from './options.js';
import type { RunSummary } from './tsv.js';
import { VERSION } from './version.js';

export function printSummary(summary: RunSummary, out: NodeJS.WritableStream = process.stdout): void {
  const table = new Table({ head: ['radius', ...summary.certifiedAccuracy.map((c) => c.radius.toFixed(2))], style: { head: [], border: [] } });
  table.push(['certified accuracy', ...summary.certifiedAccuracy.map((c) => (Number.isNaN(c.accuracy) ? '-' : c.accuracy.toFixed(3)))]);
  out.write(`${table.toString()}\n`);
  out.write(`images: ${summary.images}   abstain rate: ${summary.abstainRate.toFixed(3)}   mean time per image: ${summary.meanSeconds.toFixed(2)} s\n`);
}

export function buildProgram(): Command {
  const program = new Command('densepure')
    .description('Certify the L2 robustness of image classifiers with diffusion-model purification (DensePure, DDS) and randomized smoothing.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  const certify = addMethodOptions(addModelOptions(program.command('certify').description("Cohen et al.'s CERTIFY over a dataset slice: a Cohen-format TSV + JSON sidecar, resumable")))
    .option('--N0 <n>', 'draws that select the top class', parseWhole('--N0', 1), 100)
    .option('--N <n>', 'draws that estimate its probability', parseWhole('--N', 1), 1000)
    .option('--alpha <a>', 'failure probability of the certificate', parseNumber('--alpha'), 0.001)
    .option('--skip <n>', 'certify every skip-th image', parseWhole('--skip', 1), 1)
    .option('--max <n>', 'stop at this dataset index (as in Cohen et al.)', parseWhole('--max', 1))
    .option('--out <path>', 'output TSV (the sidecar is <path>.json); default results/<method>-sigma<s>.tsv')
    .addOption(new Option('--progress <mode>', 'progress on stderr').choices(['auto', 'none']).default('auto'))
    .action(async (o) => {
      const result = await runCertify({ ...o, n0: o.N0, n: o.N, out: o.out ?? defaultOut('certify', o), argv: process.argv.slice(2) });
      process.stdout.write(`wrote ${result.out} (${result.rows.length} rows${result.resumedRows > 0 ? `, ${result.resumedRows} resumed` : ''}) and ${result.sidecar}\n`);
      process.stdout.write(`${result.pipeline.method}${result.pipeline.tStar === undefined ? '' : `, t* = ${result.pipeline.tStar}`}, ${result.pipeline.denoiserEvalsPerDraw} denoiser evaluations per draw\n`);
      printSummary(result.summary);
    });
  void certify;

  addMethodOptions(addModelOptions(program.command('predict').description("Cohen et al.'s PREDICT: a label or abstain per image (two-sided binomial test)")))
    .option('--N <n>', 'draws per image', parseWhole('--N', 1), 1000)
    .option('--alpha <a>', 'test level', parseNumber('--alpha'), 0.001)
    .option('--skip <n>', 'every skip-th image', parseWhole('--skip', 1), 1)
    .option('--max <n>', 'stop at this dataset index', parseWhole('--max', 1))
    .option('--out <path>', 'output TSV: idx label predict correct time (written whole at the end)')
    .action(async (o) => {
      await runPredict({ ...o, n: o.N, out: o.out ?? defaultOut('predict', o) });
    });

  addMethodOptions(addModelOptions(program.command('denoise').description('picture of clean / noisy / purified samples (PNG grid)')))
    .requiredOption('--png <path>', 'output PNG')
    .option('--count <n>', 'images (columns)', parseWhole('--count', 1), 8)
    .option('--skip <n>', 'every skip-th image', parseWhole('--skip', 1), 1)
    .option('--rows <n>', 'purified samples (votes) per image', parseWhole('--rows', 1), 2)
    .option('--scale <n>', 'pixel upscaling for viewing', parseWhole('--scale', 1), 3)
    .action(async (o) => {
      await runDenoise(o);
    });

  program
    .command('info')
    .description('backends found (runtime, devices, why others were not picked) and model / dataset metadata; exits 1 when a model does not load')
    .argument('[models...]', 'model files or manifests to check (manifest, sha256, graph, one run) instead of --denoiser/--classifier')
    .option('--denoiser <spec>', 'diffusion model to describe', 'default')
    .option('--classifier <spec>', 'classifier to describe', 'default')
    .option('--dataset <spec>', 'dataset to describe', 'default')
    .option('--backend <name>', 'load the models with this backend')
    .option('--json', 'machine-readable output', false)
    .action(async (models: string[], o) => {
      await runInfo(o, models);
    });

  registerManifestCommand(program);

  return program;
}

const defaultOut = (command: string, o: { denoiser: string; K: number; steps: string; oneShot: boolean; sigma: number; spacing?: string }): string => {
  const method = o.denoiser === 'none' ? 'smoothing' : o.oneShot ? 'dds' : `densepure-K${o.K}-${o.steps === 'full' ? 'full' : `b${o.steps}`}${o.spacing === 'densepure' ? '-dp' : ''}`;
  return `results/${command}-${method}-sigma${o.sigma}.tsv`;
};

/**
 * Parses `argv` with `program` and maps every failure to an exit code: 0 for help/version, 2 for usage errors
 * (commander has printed them), a CliError's own code, whatever `classify` returns for app-specific errors,
 * else 1. Shared by `densepure` and `densepure-eval`.
 */
export async function runProgram(
  program: Command,
  argv: readonly string[],
  classify: (error: unknown) => number | undefined = () => undefined,
): Promise<number> {
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its message.
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? 0 : 2;
    }
    const code = classify(error);
    if (code !== undefined) {
      process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
      return code;
    }
    if (error instanceof CliError) {
      process.stderr.write(`error: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`error: ${error instanceof Error ? (process.env.DENSEPURE_DEBUG ? (error.stack ?? error.message) : error.message) : String(error)}\n`);
    return 1;
  }
}

/** Runs the CLI; returns the exit code instead of exiting, so tests can call it. */
export const main = (argv: readonly string[]): Promise<number> => runProgram(buildProgram(), argv);
