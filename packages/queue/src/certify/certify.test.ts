// The real certify path through the queue, in process: @densepure/runner's runCertify with queueScheduler and
// certifyWorkers on the shipped MNIST models. Two methods on shared draws (DDS and plain smoothing), whole
// images and split draw ranges: the same TSV rows and sidecar identity as a local run.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { either as E } from 'fp-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '@densepure/backend-onnx';
import { type RunSpec, runCertify } from '@densepure/runner';
import * as zoo from '@densepure/zoo-mnist';
import { parseQueueUrl } from '../connection.js';
import type { QueueTuning } from '../jobs.js';
import { type TestRedis, startTestRedis } from '../testing/index.js';
import { queueScheduler } from './coordinator.js';
import { certifyWorker } from './worker.js';

const tuning: Partial<QueueTuning> = { sweepMs: 300, pollMs: 100, leaseMs: 1500 };
// What the workers may open: the shipped models (found for a run by sha256) and the test split.
const allowed = { models: [dirname(zoo.classifierPath)], data: [zoo.testSetPath] };
let redis: TestRedis;
let work: string;
beforeAll(async () => {
  redis = await startTestRedis();
  work = mkdtempSync(join(tmpdir(), 'densepure-queue-certify-'));
});
afterAll(async () => {
  await redis?.stop();
  rmSync(work, { recursive: true, force: true });
});

const spec = (tag: string): RunSpec => ({
  models: { denoiser: zoo.denoiserPath, classifier: zoo.classifierPath, workers: 0, threads: 1 },
  dataset: { spec: zoo.testSetPath, skip: 700 },
  runs: [
    { method: { kind: 'dds' }, out: join(work, `${tag}-dds.tsv`) },
    { method: { kind: 'smoothing' }, out: join(work, `${tag}-smoothing.tsv`) },
  ],
  sigma: 0.5,
  n0: 10,
  n: 30,
  alpha: 0.001,
  seed: 3,
  batch: 16,
});
const rowsOf = (path: string): string[][] => readFileSync(path, 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t').slice(0, 5));
const identityOf = (path: string): unknown => JSON.parse(readFileSync(`${path}.json`, 'utf8')).identity;
const costsOf = (path: string): unknown[] => readFileSync(`${path}.cost`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

describe('runCertify through the queue (real models)', () => {
  it('shared draws, whole images and split draw ranges: the rows and identities of a local run', async () => {
    const local = await runCertify(spec('local'))();
    expect(E.isRight(local), E.isLeft(local) ? local.left.message : '').toBe(true);
    const connection = parseQueueUrl(redis.url);
    if (E.isLeft(connection)) throw new Error(connection.left.message);
    for (const maxDrawsPerJob of [undefined, 12]) {
      const tag = `queued-${maxDrawsPerJob ?? 'whole'}`;
      const workers = [0, 1].map((w) => certifyWorker({ connection: connection.right, name: `w${w}`, threads: 1, tuning, idleExitMs: 1500, ...allowed })());
      const queued = await runCertify(spec(tag), { scheduler: queueScheduler({ connection: connection.right, tuning, ...(maxDrawsPerJob === undefined ? {} : { maxDrawsPerJob }) }) })();
      expect(E.isRight(queued), E.isLeft(queued) ? queued.left.message : '').toBe(true);
      for (const m of ['dds', 'smoothing']) {
        expect(rowsOf(join(work, `${tag}-${m}.tsv`))).toEqual(rowsOf(join(work, `local-${m}.tsv`)));
        expect(identityOf(join(work, `${tag}-${m}.tsv`))).toEqual(identityOf(join(work, `local-${m}.tsv`)));
        // Costs too: draws and evaluations per image, whole or added up over the split jobs.
        expect(costsOf(join(work, `${tag}-${m}.tsv`))).toEqual(costsOf(join(work, `local-${m}.tsv`)));
      }
      const served = await Promise.all(workers);
      // 3 images: one job each, or 10 + 30 draws in ranges of at most 12 = 1 + 3 jobs each.
      expect(served.reduce((s, r) => s + (E.isRight(r) ? r.right.jobs : 0), 0)).toBe(maxDrawsPerJob === undefined ? 3 : 12);
    }
  });

  it('sequential mode: each image one job, the rows and costs (rounds, stop, bound) of a local run; split draws refused', async () => {
    const sequential = (tag: string): RunSpec => ({
      ...spec(tag),
      runs: [{ method: { kind: 'dds' }, out: join(work, `${tag}-dds.tsv`) }],
      n: 300,
      mode: { kind: 'sequential', radii: [0.25, 0.5] },
    });
    const local = await runCertify(sequential('seq-local'))();
    expect(E.isRight(local), E.isLeft(local) ? local.left.message : '').toBe(true);
    const connection = parseQueueUrl(redis.url);
    if (E.isLeft(connection)) throw new Error(connection.left.message);
    const worker = certifyWorker({ connection: connection.right, name: 'seq', threads: 1, tuning, idleExitMs: 1500, ...allowed })();
    const queued = await runCertify(sequential('seq-queued'), { scheduler: queueScheduler({ connection: connection.right, tuning }) })();
    expect(E.isRight(queued), E.isLeft(queued) ? queued.left.message : '').toBe(true);
    await worker;
    expect(rowsOf(join(work, 'seq-queued-dds.tsv'))).toEqual(rowsOf(join(work, 'seq-local-dds.tsv')));
    const costs = costsOf(join(work, 'seq-queued-dds.tsv'));
    expect(costs).toEqual(costsOf(join(work, 'seq-local-dds.tsv')));
    expect(costs.every((c) => typeof (c as { stop?: unknown }).stop === 'string')).toBe(true);

    const split = await runCertify(sequential('seq-split'), { scheduler: queueScheduler({ connection: connection.right, tuning, maxDrawsPerJob: 50 }) })();
    expect(E.isLeft(split) && split.left.kind).toBe('queue-bad-setting');
    expect(existsSync(join(work, 'seq-split-dds.tsv'))).toBe(false);
  });

  it('cascade mode: each image one job on the worker, the rows and costs (which sigma answered) of a local run', async () => {
    const cascade = (tag: string): RunSpec => ({ ...spec(tag), mode: { kind: 'cascade', sigmas: [0.5, 0.25], p0: 0.6 } });
    const local = await runCertify(cascade('cascade-local'))();
    expect(E.isRight(local), E.isLeft(local) ? local.left.message : '').toBe(true);
    const connection = parseQueueUrl(redis.url);
    if (E.isLeft(connection)) throw new Error(connection.left.message);
    const worker = certifyWorker({ connection: connection.right, name: 'cascade', threads: 1, tuning, idleExitMs: 1500, ...allowed })();
    const queued = await runCertify(cascade('cascade-queued'), { scheduler: queueScheduler({ connection: connection.right, tuning }) })();
    expect(E.isRight(queued), E.isLeft(queued) ? queued.left.message : '').toBe(true);
    await worker;
    for (const m of ['dds', 'smoothing']) {
      expect(rowsOf(join(work, `cascade-queued-${m}.tsv`))).toEqual(rowsOf(join(work, `cascade-local-${m}.tsv`)));
      const costs = costsOf(join(work, `cascade-queued-${m}.tsv`));
      expect(costs).toEqual(costsOf(join(work, `cascade-local-${m}.tsv`)));
      expect(costs.every((c) => [0.5, 0.25].includes((c as { cascade: { sigma: number } }).cascade.sigma))).toBe(true);
    }
  });
});
