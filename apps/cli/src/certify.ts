// `densepure certify`: flags -> RunSpec -> @densepure/runner runCertify, with a progress bar on stderr.
import { either as E } from 'fp-ts';
import { type Failure, failureOf, interruptedFailure, shippedCatalog, stopOnSignals } from '@densepure/app-kit';
import type { QueueError } from '@densepure/queue';
import { type CertifyMode, type ImageScheduler, type RunResult, describeMethod, methodSlug, runCertify } from '@densepure/runner';
import { type MethodFlags, type ModeFlags, type ModelFlags, baseSpecFromFlags, drawSplitFromFlags, flagOf, methodFromFlags, modeFromFlags, sigmaFromFlags } from './flags.js';
import { type Progress, createProgress } from './progress.js';
import { queueSchedulerFromFlags } from './queue.js';
import { VERSION } from './version.js';

export interface CertifyFlags extends ModelFlags, MethodFlags, ModeFlags {
  readonly N0: number;
  readonly N: number;
  readonly alpha: number;
  readonly out?: string;
  /** 'auto': a bar on a TTY, plain lines otherwise; 'none': silent. */
  readonly progress: 'auto' | 'none';
  /** redis://HOST:PORT/DB: enqueue the images for `densepure worker`s and collect their rows. */
  readonly queue?: string;
  readonly maxDrawsPerJob?: number;
}

export async function certifyCommand(o: CertifyFlags, argv: readonly string[]): Promise<E.Either<Failure, RunResult & { description: string; mode: CertifyMode }>> {
  const method = methodFromFlags(o);
  if (E.isLeft(method)) return method;
  const mode = modeFromFlags(o);
  if (E.isLeft(mode)) return mode;
  const maxDrawsPerJob = drawSplitFromFlags(o, mode.right);
  if (E.isLeft(maxDrawsPerJob)) return maxDrawsPerJob;
  const sigma = sigmaFromFlags(o, mode.right, argv.some((a) => a === '--sigma' || a.startsWith('--sigma=')));
  if (E.isLeft(sigma)) return sigma;
  const out = o.out ?? `results/certify-${methodSlug(method.right)}-${outSuffix(mode.right, sigma.right)}.tsv`;
  let progress: Progress | null = null;
  const certifyWith = async (scheduler?: ImageScheduler<QueueError>): Promise<E.Either<Failure, RunResult & { description: string; mode: CertifyMode }>> => {
    const results = await runCertify<QueueError>(
      {
        ...baseSpecFromFlags(o),
        sigma: sigma.right,
        runs: [{ method: method.right, out }],
        n0: o.N0,
        n: o.N,
        alpha: o.alpha,
        ...(mode.right.kind === 'fixed' ? {} : { mode: mode.right }),
        provenance: { tool: 'densepure', version: VERSION, command: argv },
      },
      {
        catalog: shippedCatalog,
        ...(scheduler === undefined ? {} : { scheduler }),
        hooks: {
          onStart: (start) => {
            if (o.progress !== 'none') {
              // Say which runtime actually runs (and any device fallback) before the long part starts.
              for (const m of start.models) process.stderr.write(`${m.kind} ${m.name}: ${m.runtime}\n`);
              if (start.resumedImages > 0) process.stderr.write(`resuming ${out} after ${start.resumedImages} complete images\n`);
            }
            // With a queue, the cluster's progress lines replace the local bar.
            progress = createProgress(scheduler === undefined ? o.progress : 'none', start.images, start.resumedImages, start.drawsPerImage);
          },
          onDraws: (done) => progress?.draws(done),
          onRow: (_run, row) => progress?.image(row),
          onNote: (line) => process.stderr.write(`${line}\n`),
        },
      },
    )();
    if (E.isLeft(results)) return E.left(failureOf(results.left, flagOf));
    const [result] = results.right;
    return E.right({ ...result!, description: describeMethod(method.right), mode: mode.right });
  };
  try {
    if (o.queue === undefined) return await certifyWith();
    const queue = o.queue;
    // With a queue, Ctrl-C or kill stops the coordinator cleanly: the rows so far stay, the jobs stay queued and
    // its lease on the run is given back, so a rerun resumes at once (a second signal ends it at once).
    const { result, signal } = await stopOnSignals(
      async (stop) => {
        const queued = await queueSchedulerFromFlags({ queue, signal: stop, ...(maxDrawsPerJob.right === undefined ? {} : { maxDrawsPerJob: maxDrawsPerJob.right }) }, o.progress);
        return E.isLeft(queued) ? queued : certifyWith(queued.right);
      },
      () => process.stderr.write('stopping: the rows written stay, the jobs stay queued for a rerun (signal again to stop at once)\n'),
    );
    return signal !== null && E.isLeft(result) ? E.left(interruptedFailure(result.left.message, signal)) : result;
  } finally {
    (progress as Progress | null)?.stop();
  }
}


/** The default output's name after the method: its sigma (a cascade's sigmas and p0) and a sequential mark. */
function outSuffix(mode: CertifyMode, sigma: number): string {
  if (mode.kind !== 'cascade') return `sigma${sigma}${mode.kind === 'sequential' ? '-sequential' : ''}`;
  return `cascade${mode.sigmas.join('-')}-p0${mode.p0}${mode.radii === undefined ? '' : '-sequential'}`;
}
