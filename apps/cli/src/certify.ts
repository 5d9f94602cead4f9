// `densepure certify`: flags -> RunSpec -> @densepure/runner runCertify, with a progress bar on stderr.
import { type RunError, type RunResult, describeMethod, describeRunError, methodSlug, runCertify } from '@densepure/runner';
import { either as E } from 'fp-ts';
import { type MethodFlags, type ModeFlags, type ModelFlags, baseSpecFromFlags, drawSplitFromFlags, flagOf, methodFromFlags, modeFromFlags, must } from './flags.js';
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

export async function certifyCommand(o: CertifyFlags, argv: readonly string[]): Promise<RunResult & { description: string }> {
  const method = must(methodFromFlags(o));
  const mode = must(modeFromFlags(o));
  const maxDrawsPerJob = must(drawSplitFromFlags(o, mode));
  const out = o.out ?? `results/certify-${methodSlug(method)}-sigma${o.sigma}${mode.kind === 'sequential' ? '-sequential' : ''}.tsv`;
  let progress: Progress | null = null;
  // With a queue, Ctrl-C ends the coordinator like a local run (bin.ts): rows so far stay, the jobs stay queued.
  const scheduler =
    o.queue === undefined ? undefined : await queueSchedulerFromFlags({ queue: o.queue, ...(maxDrawsPerJob === undefined ? {} : { maxDrawsPerJob }) }, o.progress);
  try {
    const results = await runCertify(
      { ...baseSpecFromFlags(o), runs: [{ method, out }], n0: o.N0, n: o.N, alpha: o.alpha, ...(mode.kind === 'sequential' ? { mode } : {}), provenance: { tool: 'densepure', version: VERSION, command: argv } },
      {
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
      scheduler,
    )();
    if (E.isLeft(results)) {
      // Only a queued run can end in a queue error, and then the queue package is loaded already.
      const q = scheduler === undefined ? null : await import('@densepure/queue');
      throw q !== null && q.isQueueError(results.left) ? q.queueFailure(results.left) : describeRunError(results.left as RunError, flagOf);
    }
    const [result] = results.right;
    return { ...result!, description: describeMethod(method) };
  } finally {
    (progress as Progress | null)?.stop();
  }
}
