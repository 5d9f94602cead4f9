// A certificate server's draws through the queue, in process, on the shipped models: the dispatcher's standing
// run and certifyWorker (what `densepure worker` runs). Counts added up over the workers' ranges are the local
// group's; a job that does not fit is rejected uncomputed; a request nobody takes is withdrawn; a worker without
// the server's models refuses the run, and the server sees why.
import { dirname } from 'node:path';
import { either as E } from 'fp-ts';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '@densepure/backend-onnx';
import { type Pipeline, openPipeline } from '@densepure/runner';
import * as zoo from '@densepure/zoo-mnist';
import { parseQueueUrl } from '../connection.js';
import type { QueueTuning } from '../jobs.js';
import { certifyWorker } from '../certify/worker.js';
import { type TestRedis, startTestRedis } from '../testing/index.js';
import { type DrawsDispatcher, openDrawsDispatcher } from './dispatcher.js';
import { type DrawsPart, type ServeRunSpec, serveIdentity } from './protocol.js';

const tuning: Partial<QueueTuning> = { sweepMs: 200, pollMs: 100, leaseMs: 1500 };
let redis: TestRedis;
let client: Redis;
let pipeline: Pipeline;
let dispatcher: DrawsDispatcher;
let image: number[];

const spec: ServeRunSpec = { purpose: 'serve', shape: [1, 28, 28], numClasses: 10, batch: 32, backend: 'onnx', limits: { maxDraws: 1000, maxDrawsPerJob: 64, maxVotes: 8, maxSigma: 2 } };
const connection = () => {
  const c = parseQueueUrl(redis.url);
  if (E.isLeft(c)) throw new Error(c.left.message);
  return c.right;
};
const until = async (what: string, test: () => boolean | Promise<boolean>): Promise<void> => {
  for (const end = Date.now() + 30_000; !(await test()); await new Promise((r) => setTimeout(r, 50))) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
};
const part = (change: Partial<DrawsPart> = {}): DrawsPart => ({ image, method: 'dds', sigma: 1, seed: 3, index: 11, first: 10, count: 30, ...change });
const jobKeys = async (): Promise<string[]> => (await client.keys('densepure:run-*:i*')).filter((k) => /:i\d+p\d+-[0-9a-f]{12}$/.test(k));

beforeAll(async () => {
  redis = await startTestRedis();
  client = new Redis(redis.url);
  const opened = await openPipeline({ models: { denoiser: zoo.denoiserPath, classifier: zoo.classifierPath, workers: 0, threads: 1 }, dataset: { spec: zoo.testSetPath }, methods: [{ kind: 'dds' }], sigma: 1, seed: 3, batch: 32 })();
  if (E.isLeft(opened)) throw new Error(opened.left.message);
  pipeline = opened.right;
  image = Array.from(pipeline.dataset.get(11).image);
  const d = await openDrawsDispatcher({ connection: connection(), spec, identity: serveIdentity(spec, { denoiser: pipeline.denoiser!.metadata, classifier: pipeline.classifier.metadata }), tuning })();
  if (E.isLeft(d)) throw new Error(d.left.message);
  dispatcher = d.right;
});
afterAll(async () => {
  await dispatcher?.close();
  await pipeline?.dispose();
  client?.disconnect();
  await redis?.stop();
});

describe("a certificate server's draws on queue workers (real models)", () => {
  it('draws nobody takes are withdrawn when the request stops, and say that no worker had them', async () => {
    const got = await dispatcher.count(part(), AbortSignal.timeout(300));
    expect(E.isLeft(got) && got.left).toMatchObject({ kind: 'draws-stopped', taken: false });
    await until('the withdrawn job to go', async () => (await jobKeys()).length === 0);
  });

  it("a worker without the server's models refuses the run, naming the sha256; the server sees the refusal", async () => {
    const stop = new AbortController();
    const bare = certifyWorker({ connection: connection(), name: 'bare', threads: 1, tuning, signal: stop.signal, data: [zoo.testSetPath] })();
    await until('the refusal', () => dispatcher.refusals().length > 0);
    expect(dispatcher.refusals().join('\n')).toMatch(/worker bare refuses run [0-9a-f]{16}: this worker has no classifier model with sha256 [0-9a-f]{12}…/);
    stop.abort();
    expect(E.isRight(await bare)).toBe(true);
  }, 60_000);

  it("ranges counted by workers add up to the local group's counts and evaluations; a job that does not fit is rejected uncomputed", async () => {
    const stop = new AbortController();
    const worker = certifyWorker({ connection: connection(), name: 'honest', threads: 1, tuning, signal: stop.signal, models: [dirname(zoo.classifierPath)] })();
    try {
      const signal = new AbortController().signal;
      const ranges = await Promise.all([part({ first: 10, count: 30 }), part({ first: 40, count: 64 }), part({ first: 104, count: 6 })].map((p) => dispatcher.count(p, signal)));
      const tally = { denoiser: 0, classifier: 0 };
      const local = await pipeline.group.counts(pipeline.dataset.get(11).image, 11, { firstDraw: 10, count: 100 }, tally);
      if (E.isLeft(local)) throw new Error(local.left.message);
      const sum = new Array<number>(10).fill(0);
      const evaluations = { denoiser: 0, classifier: 0 };
      for (const r of ranges) {
        if (E.isLeft(r)) throw new Error(r.left.message);
        r.right.counts.forEach((c, k) => (sum[k]! += c));
        evaluations.denoiser += r.right.evaluations.denoiser;
        evaluations.classifier += r.right.evaluations.classifier;
      }
      expect(sum).toEqual(Array.from(local.right[0]!));
      expect(evaluations).toEqual(tally);
      // Another seed gives other counts (at sigma 1 the draws disagree often): the comparison can fail.
      const other = await dispatcher.count(part({ seed: 4, first: 10, count: 64 }), signal);
      const mine = await dispatcher.count(part({ first: 10, count: 64 }), signal);
      expect(E.isRight(other) && E.isRight(mine) && other.right.counts.join() !== mine.right.counts.join()).toBe(true);

      const started = Date.now();
      const bad = await dispatcher.count(part({ image: image.map((v, i) => (i === 5 ? Number.NaN : v)) }), signal);
      expect(E.isLeft(bad) && bad.left.kind).toBe('draws-failed');
      expect(E.isLeft(bad) && bad.left.message).toMatch(/a worker rejected the draws: the draws job of request \d+ of serve run [0-9a-f]{16} does not fit the run: its pixel 5 is null, not a finite number in \[0, 1\]; it was not computed/);
      const beyond = await dispatcher.count(part({ first: 990, count: 64 }), signal);
      expect(E.isLeft(beyond) && beyond.left.message).toMatch(/its draws 990 \+ 64 reach beyond the run's cap of 1000 draws; it was not computed/);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      stop.abort();
    }
    const served = await worker;
    expect(E.isRight(served) && served.right.jobs).toBe(5);
  }, 60_000);
});
