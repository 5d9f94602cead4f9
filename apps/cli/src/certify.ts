// `densepure certify`: flags -> RunSpec -> @densepure/runner runCertify, with a progress bar on stderr.
import { type RunResult, describeMethod, methodSlug, orFail, runCertify } from '@densepure/runner';
import { type MethodFlags, type ModelFlags, baseSpecFromFlags, flagOf, methodFromFlags, must } from './flags.js';
import { type Progress, createProgress } from './progress.js';
import { VERSION } from './version.js';

export interface CertifyFlags extends ModelFlags, MethodFlags {
  readonly N0: number;
  readonly N: number;
  readonly alpha: number;
  readonly out?: string;
  /** 'auto': a bar on a TTY, plain lines otherwise; 'none': silent. */
  readonly progress: 'auto' | 'none';
}

export async function certifyCommand(o: CertifyFlags, argv: readonly string[]): Promise<RunResult & { description: string }> {
  const method = must(methodFromFlags(o));
  const out = o.out ?? `results/certify-${methodSlug(method)}-sigma${o.sigma}.tsv`;
  let progress: Progress | null = null;
  try {
    const results = await runCertify(
      { ...baseSpecFromFlags(o), runs: [{ method, out }], n0: o.N0, n: o.N, alpha: o.alpha, provenance: { tool: 'densepure', version: VERSION, command: argv } },
      {
        onStart: (start) => {
          if (o.progress !== 'none') {
            // Say which runtime actually runs (and any device fallback) before the long part starts.
            for (const m of start.models) process.stderr.write(`${m.kind} ${m.name}: ${m.runtime}\n`);
            if (start.resumedImages > 0) process.stderr.write(`resuming ${out} after ${start.resumedImages} complete images\n`);
          }
          progress = createProgress(o.progress, start.images, start.resumedImages, start.drawsPerImage);
        },
        onDraws: (done) => progress?.draws(done),
        onRow: (_run, row) => progress?.image(row),
      },
    )();
    const [result] = orFail(results, flagOf);
    return { ...result!, description: describeMethod(method) };
  } finally {
    (progress as Progress | null)?.stop();
  }
}
