import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { predict } from '@densepure/core';
import { selectIndices } from '@densepure/datasets';
import { BackendFailure } from '@densepure/voting';
import { fromBackendError, usageError } from './errors.js';
import { ensureWritable } from './run-files.js';
import { type MethodFlags, type ModelFlags, buildPipeline } from './setup.js';
import { formatElapsed } from './tsv.js';

export interface PredictOptions extends ModelFlags, MethodFlags {
  readonly n: number;
  readonly alpha: number;
  readonly skip: number;
  readonly max?: number;
  readonly out: string;
}

/**
 * Cohen et al.'s PREDICT over a dataset slice. Writes `idx label predict correct time` (their predict.py
 * columns) to a temp file renamed into place at the end, so a failed run leaves no file that looks complete.
 */
export async function runPredict(o: PredictOptions): Promise<void> {
  if (!(o.alpha > 0 && o.alpha < 1)) throw usageError(`--alpha must be in (0, 1), got ${o.alpha}`);
  ensureWritable(o.out);
  const pipeline = await buildPipeline(o, o);
  const partial = `${o.out}.partial`;
  const lines = ['idx\tlabel\tpredict\tcorrect\ttime'];
  let correct = 0;
  let abstained = 0;
  try {
    const indices = selectIndices(pipeline.dataset.size, o.skip, o.max);
    for (const idx of indices) {
      const { image, label } = pipeline.dataset.get(idx);
      const started = performance.now();
      const result = await predict(pipeline.base.sampler(image, idx), {
        n: o.n,
        alpha: o.alpha,
        batchSize: Math.max(1, Math.floor(o.batch / Math.max(1, o.K))) * Math.max(1, o.workers),
        numClasses: pipeline.base.numClasses,
      });
      const p = result.kind === 'predicted' ? result.label : -1;
      correct += p === label ? 1 : 0;
      abstained += p === -1 ? 1 : 0;
      lines.push(`${idx}\t${label}\t${p}\t${p === label ? 1 : 0}\t${formatElapsed((performance.now() - started) / 1000)}`);
      writeFileSync(partial, `${lines.join('\n')}\n`);
      process.stderr.write(`[${lines.length - 1}/${indices.length}] idx ${idx} label ${label} predict ${p}\n`);
    }
    renameSync(partial, o.out);
    const n = lines.length - 1;
    process.stdout.write(`wrote ${o.out}: accuracy ${(correct / n).toFixed(3)}, abstain rate ${(abstained / n).toFixed(3)} over ${n} images\n`);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error instanceof BackendFailure ? fromBackendError('model run', error.error) : error;
  } finally {
    await pipeline.dispose();
  }
}
