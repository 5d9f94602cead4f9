// Cohen et al.'s PREDICT over a dataset slice with one method: a label or abstain per image.
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { either as E, taskEither as TE } from 'fp-ts';
import { predict } from '@densepure/core';
import { type RunError, ioError, modelRunError } from './errors.js';
import { ensureWritable } from './files.js';
import { acquireOutputLock, takeoverNotes } from './lock.js';
import type { Catalog } from './catalog.js';
import { openPipeline, sliceIndices } from './pipeline.js';
import { type PredictSpec, checkPredictSpec, drawsPerBatch } from './spec.js';
import { formatElapsed } from './tsv.js';

export interface PredictRow {
  readonly idx: number;
  readonly label: number;
  /** -1 on abstain. */
  readonly predict: number;
  readonly seconds: number;
}

export interface PredictResult {
  readonly out: string;
  readonly rows: readonly PredictRow[];
  readonly accuracy: number;
  readonly abstainRate: number;
}

export const PREDICT_HEADER = 'idx\tlabel\tpredict\tcorrect\ttime';

const formatPredictRow = (r: PredictRow): string => `${r.idx}\t${r.label}\t${r.predict}\t${r.predict === r.label ? 1 : 0}\t${formatElapsed(r.seconds)}`;

/**
 * Writes `idx label predict correct time` (the columns of Cohen et al.'s predict.py) to `<out>.partial` after
 * every image and renames it into place at the end, so a failed run leaves no file that looks complete.
 */
export interface PredictHooks {
  readonly onRow?: (row: PredictRow, done: number, total: number) => void;
  /** Things worth a line before the run starts (a stale lock of a crashed run taken over). */
  readonly onNote?: (line: string) => void;
}

export function runPredict(spec: PredictSpec, hooks: PredictHooks = {}, catalog?: Catalog): TE.TaskEither<RunError, PredictResult> {
  return async () => {
    const checked = checkPredictSpec(spec);
    if (E.isLeft(checked)) return checked;
    const { out } = spec.run;
    const writable = ensureWritable(out, ['.partial', '.lock']);
    if (E.isLeft(writable)) return writable;
    // The lock also proves, before any model runs, that files can be created beside the output.
    const lock = acquireOutputLock(out);
    if (E.isLeft(lock)) return lock;
    try {
      for (const note of takeoverNotes([lock.right])) hooks.onNote?.(note);
      return await predictAll(spec, hooks, catalog);
    } finally {
      lock.right.release();
    }
  };
}

async function predictAll(spec: PredictSpec, hooks: PredictHooks, catalog: Catalog | undefined): Promise<E.Either<RunError, PredictResult>> {
  const { out, method } = spec.run;
  const opened = await openPipeline({ ...spec, methods: [method] }, catalog === undefined ? {} : { catalog })();
  if (E.isLeft(opened)) return opened;
  const pipeline = opened.right;
  const partial = `${out}.partial`;
  const rows: PredictRow[] = [];
  try {
    const indices = sliceIndices(pipeline.dataset, spec.dataset);
    if (E.isLeft(indices)) return indices;
    const base = pipeline.group.members[0]!;
    for (const idx of indices.right) {
      const { image, label } = pipeline.dataset.get(idx);
      const started = performance.now();
      const predicted = await predict(base.sampler(image, idx), {
        n: spec.n,
        alpha: spec.alpha,
        batchSize: drawsPerBatch(spec.batch, [method], spec.models.workers),
        numClasses: base.numClasses,
      });
      if (E.isLeft(predicted)) {
        rmSync(partial, { force: true });
        return E.left(modelRunError(predicted.left));
      }
      const result = predicted.right;
      const row = { idx, label, predict: result.kind === 'predicted' ? result.label : -1, seconds: (performance.now() - started) / 1000 };
      rows.push(row);
      writeFileSync(partial, `${[PREDICT_HEADER, ...rows.map(formatPredictRow)].join('\n')}\n`);
      hooks.onRow?.(row, rows.length, indices.right.length);
    }
    renameSync(partial, out);
    const n = rows.length;
    return E.right({ out, rows, accuracy: rows.filter((r) => r.predict === r.label).length / n, abstainRate: rows.filter((r) => r.predict === -1).length / n });
  } catch (cause) {
    rmSync(partial, { force: true });
    return E.left(ioError(out, 'cannot write', cause));
  } finally {
    await pipeline.dispose();
  }
}
