// A deterministic stand-in for certify, to test the queue layer on its own: each draw's label is a pure
// function of (seed, image, draw) through core's Philox, so counts over disjoint draw ranges add up exactly, as
// they do for the real sampler. The coordinator writes Cohen-like rows (idx, label, predict, radius, correct).
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { either as E, taskEither as TE, function as F } from 'fp-ts';
import { type CertifyResult, type Sampler, certify, philox4x32_10 } from '@densepure/core';
import type { QueueConnection } from '../connection.js';
import { type CollectSummary, collect } from '../coordinator.js';
import { type DrawRange, type DrawsPart, type DrawsResult, certifyFromCounts, mergeDraws, parseDrawsResult, planDraws } from '@densepure/runner';
import type { QueueError } from '../errors.js';
import type { QueueTuning } from '../jobs.js';
import type { ClusterProgress } from '../progress.js';
import { type ServeSummary, type WorkerEvent, serve } from '../worker.js';

export interface StandInConfig {
  readonly seed: number;
  readonly numClasses: number;
  readonly n0: number;
  readonly n: number;
  readonly sigma: number;
  readonly alpha: number;
  /** Split an image's draws into jobs of at most this many draws (default: one job per image). */
  readonly maxDrawsPerJob?: number;
  /** A model the worker must find on its machine (not part of the identity, as a real run's paths are not). */
  readonly modelPath?: string;
}

export interface StandInRow {
  readonly idx: number;
  readonly label: number;
  readonly predict: number;
  readonly radius: number;
  readonly correct: number;
}

const TWO32 = 2 ** 32;

/** Per-class votes over one draw range of image `idx`: a pure function of (seed, idx, draw). */
export function standInCounts(seed: number, idx: number, range: DrawRange, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  const truth = idx % numClasses;
  // Images differ in how often the base classifier is right, so rows mix certified, abstained and wrong ones.
  const pRight = 0.3 + 0.69 * ((idx * 0.618034) % 1);
  for (let d = range.first; d < range.first + range.count; d++) {
    const r = philox4x32_10([d, idx, 0, 0], [seed, 0]);
    const u = r[0]! / TWO32;
    counts[u < pRight ? truth : (truth + 1 + (r[1]! % (numClasses - 1))) % numClasses]! += 1;
  }
  return counts;
}

export const standInIdentity = (c: StandInConfig): Record<string, unknown> => ({
  method: 'stand-in',
  seed: c.seed,
  numClasses: c.numClasses,
  N0: c.n0,
  N: c.n,
  sigma: c.sigma,
  alpha: c.alpha,
});

const toRow = (idx: number, numClasses: number, r: { kind: string; label: number; radius?: number }): StandInRow => {
  const label = idx % numClasses;
  const predict = r.kind === 'certified' ? r.label : -1;
  return { idx, label, predict, radius: r.kind === 'certified' ? r.radius! : 0, correct: predict === label ? 1 : 0 };
};

/** The single-process answer: core's certify over the stand-in sampler, in odd batches. */
export async function standInReference(c: StandInConfig, indices: readonly number[]): Promise<StandInRow[]> {
  const rows: StandInRow[] = [];
  for (const idx of indices) {
    const sampler: Sampler = async (req) => E.right(standInCounts(c.seed, idx, { first: req.firstDraw, count: req.count }, c.numClasses));
    const result = await certify(sampler, { sigma: c.sigma, alpha: c.alpha, n0: c.n0, n: c.n, batchSize: 7, numClasses: c.numClasses });
    rows.push(toRow(idx, c.numClasses, F.pipe(result, E.getOrElse<never, CertifyResult>(F.absurd))));
  }
  return rows;
}

export const formatStandInRow = (r: StandInRow): string => `${r.idx}\t${r.label}\t${r.predict}\t${r.radius}\t${r.correct}`;

/** Rows of a stand-in output file (a torn last line, from a kill mid-write, is ignored). */
export function readStandInRows(path: string): StandInRow[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  const complete = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1);
  return complete
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [idx, label, predict, radius, correct] = l.split('\t').map(Number);
      return { idx: idx!, label: label!, predict: predict!, radius: radius!, correct: correct! };
    });
}

export interface StandInCoordinatorOptions {
  readonly connection: QueueConnection;
  readonly config: StandInConfig;
  readonly indices: readonly number[];
  /** Output file, resumed when it exists. */
  readonly out: string;
  readonly tuning?: Partial<QueueTuning>;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: ClusterProgress) => void;
  readonly onRefusal?: (worker: string, message: string) => void;
  readonly onNotice?: (message: string) => void;
  /** Called after each row is written (fsync'd). */
  readonly onRow?: (row: StandInRow) => void;
}

/** A coordinator as the CLI's will be: resume from the file, enqueue the rest, write rows in order. */
export function runStandInCoordinator(o: StandInCoordinatorOptions): TE.TaskEither<QueueError, CollectSummary> {
  return async () => {
    const c = o.config;
    const existing = readStandInRows(o.out);
    writeFileSync(o.out, existing.map((r) => `${formatStandInRow(r)}\n`).join('')); // drops a torn line
    const done = new Set(existing.map((r) => r.idx));
    const parts = planDraws(c.n0, c.n, c.maxDrawsPerJob);
    const fd = openSync(o.out, 'a');
    try {
      return await collect<DrawsPart, DrawsResult>({
        connection: o.connection,
        identity: standInIdentity(c),
        spec: c,
        items: o.indices.filter((i) => !done.has(i)).map((idx) => ({ idx, parts })),
        doneBefore: { items: done.size, jobs: done.size * parts.length },
        parseResult: (value, _idx, part) => parseDrawsResult(value, parts[part]!, c.numClasses),
        onItem: async (idx, results) => {
          const merged = mergeDraws(parts, results.map((r) => r.value), c.n0, c.n, c.numClasses);
          if (E.isLeft(merged)) throw new Error(merged.left.message);
          const row = toRow(idx, c.numClasses, await certifyFromCounts(merged.right, c));
          writeSync(fd, `${formatStandInRow(row)}\n`);
          fsyncSync(fd);
          o.onRow?.(row);
        },
        ...(o.onProgress === undefined ? {} : { onProgress: o.onProgress }),
        ...(o.onRefusal === undefined ? {} : { onRefusal: o.onRefusal }),
        ...(o.onNotice === undefined ? {} : { onNotice: o.onNotice }),
        ...(o.tuning === undefined ? {} : { tuning: o.tuning }),
        ...(o.signal === undefined ? {} : { signal: o.signal }),
      })();
    } finally {
      closeSync(fd);
    }
  };
}

export interface StandInWorkerOptions {
  readonly connection: QueueConnection;
  readonly name?: string;
  /** The worker's own configuration; default: whatever the run says (a mismatch here is refused). */
  readonly own?: Partial<StandInConfig>;
  /** Simulated compute time per job, ms. */
  readonly msPerJob?: number;
  /** Images whose compute fails (a model failure). */
  readonly failOn?: readonly number[];
  /** The model paths this worker's machine has; a run naming another is refused (default: any). */
  readonly modelPaths?: readonly string[];
  readonly tuning?: Partial<QueueTuning>;
  readonly idleExitMs?: number;
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: WorkerEvent) => void;
}

export function runStandInWorker(o: StandInWorkerOptions): TE.TaskEither<QueueError, ServeSummary> {
  return serve<DrawsPart, DrawsResult>({
    connection: o.connection,
    ...(o.name === undefined ? {} : { name: o.name }),
    prepare: (run) => {
      const config = { ...(run.spec as StandInConfig), ...o.own };
      if (config.modelPath !== undefined && o.modelPaths !== undefined && !o.modelPaths.includes(config.modelPath)) {
        return TE.left({ kind: 'work-refused', message: `model file not found: ${config.modelPath}` });
      }
      return TE.right({
        identity: standInIdentity(config),
        compute: async (idx, part) => {
          if ((o.msPerJob ?? 0) > 0) await new Promise((r) => setTimeout(r, o.msPerJob));
          if (o.failOn?.includes(idx) === true) return E.left({ kind: 'work-failed', message: `stand-in model failure on image ${idx}` });
          return E.right({ counts: part.ranges.map((range) => standInCounts(config.seed, idx, range, config.numClasses)) });
        },
        dispose: async () => undefined,
      });
    },
    ...(o.tuning === undefined ? {} : { tuning: o.tuning }),
    ...(o.idleExitMs === undefined ? {} : { idleExitMs: o.idleExitMs }),
    ...(o.signal === undefined ? {} : { signal: o.signal }),
    ...(o.onEvent === undefined ? {} : { onEvent: o.onEvent }),
  });
}
