// What a worker does with what it reads from Redis, on the shipped models: a job whose payload was edited is
// rejected uncomputed (not a 100,000,000-draw compute), a run record that names other files makes the worker open
// none of them (models are its own, found by sha256; a dataset it was not started with is refused unopened) and
// copies nothing of them back into Redis.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { either as E } from 'fp-ts';
import { Redis } from 'ioredis';
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
const allowed = { models: [dirname(zoo.classifierPath)], data: [zoo.testSetPath] };
let redis: TestRedis;
let client: Redis;
let work: string;
beforeAll(async () => {
  redis = await startTestRedis();
  client = new Redis(redis.url);
  work = mkdtempSync(join(tmpdir(), 'densepure-queue-trust-'));
});
afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
  rmSync(work, { recursive: true, force: true });
});

const spec = (tag: string, seed: number): RunSpec => ({
  models: { denoiser: zoo.denoiserPath, classifier: zoo.classifierPath, workers: 0, threads: 1 },
  dataset: { spec: zoo.testSetPath, skip: 700 },
  runs: [{ method: { kind: 'dds' }, out: join(work, `${tag}.tsv`) }],
  sigma: 0.5,
  n0: 10,
  n: 30,
  alpha: 0.001,
  seed,
  batch: 16,
});
const connection = () => {
  const c = parseQueueUrl(redis.url);
  if (E.isLeft(c)) throw new Error(c.left.message);
  return c.right;
};
const until = async (what: string, test: () => Promise<boolean>): Promise<void> => {
  for (const end = Date.now() + 60_000; !(await test()); await new Promise((r) => setTimeout(r, 50))) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
};
const jobKeys = async (): Promise<string[]> => (await client.keys('densepure:run-*:i*')).filter((k) => /:i\d+p\d+-[0-9a-f]{12}$/.test(k)).sort();
const openRunId = async (): Promise<string | undefined> => (await client.zrange('densepure:runs', 0, -1))[0];

describe('a worker trusts nothing it reads from Redis', () => {
  it('a waiting job whose payload was edited (a draw range of 100,000,000) is rejected uncomputed; the run stops saying so', async () => {
    const coordinator = runCertify(spec('edited', 41), { scheduler: queueScheduler({ connection: connection(), tuning }) })();
    await until('the jobs', async () => (await jobKeys()).length === 3);
    const [key] = await jobKeys();
    const data = JSON.parse((await client.hget(key!, 'data'))!) as { payload: unknown };
    data.payload = { wanted: [0], ranges: [{ first: 0, count: 100_000_000 }] };
    await client.hset(key!, 'data', JSON.stringify(data));
    const started = Date.now();
    const worker = certifyWorker({ connection: connection(), name: 'honest', threads: 1, tuning, idleExitMs: 1500, ...allowed })();
    const r = await coordinator;
    expect(E.isLeft(r) && r.left.kind).toBe('queue-job-failed');
    expect(E.isLeft(r) && r.left.message).toMatch(/was rejected by a worker: job i\d+p0-[0-9a-f]{12} has a payload that is not the one it was made with .*it was not computed; was the queue's data in Redis changed\?/);
    await worker;
    expect(Date.now() - started).toBeLessThan(60_000);
    await client.flushdb();
  });

  it('a run record naming other files: the worker opens none of them and copies nothing of them into Redis', async () => {
    const secret = join(work, 'secret.json'); // as a model path it is read as a manifest: a parse error would quote it
    writeFileSync(secret, 'TOP-SECRET-CONTENT\n'.repeat(10));
    const refusals: string[] = [];
    const coordinator = runCertify(spec('tampered', 42), { scheduler: queueScheduler({ connection: connection(), tuning, onRefusal: (_w, m) => refusals.push(m) }) })();
    await until('the run record', async () => (await openRunId()) !== undefined && (await client.exists(`densepure:run:${(await openRunId())!}`)) === 1);
    const recordKey = `densepure:run:${(await openRunId())!}`;
    const record = JSON.parse((await client.get(recordKey))!) as { spec: { dataset: { spec: string }; models: Record<string, unknown> } };
    // 1. The dataset is a file the worker was not started with: refused unopened, nothing of it in Redis.
    await client.set(recordKey, JSON.stringify({ ...record, spec: { ...record.spec, dataset: { ...record.spec.dataset, spec: secret } } }));
    const first = certifyWorker({ connection: connection(), name: 'careful', threads: 1, tuning: { ...tuning, refusalRetryMs: 60_000 }, idleExitMs: 1500, ...allowed })();
    await until('the refusal', async () => Object.keys(await client.hgetall(`${recordKey}:refusals`)).length > 0);
    const stored = Object.values(await client.hgetall(`${recordKey}:refusals`)).join('\n');
    expect(stored).toMatch(/refuses run [0-9a-f]{16}: the run's dataset ".*secret\.json" is not among the datasets this worker was started to allow/);
    expect(stored).not.toMatch(/TOP-SECRET/);
    await first;
    // 2. The model paths name the secret file: the worker loads its own models, found by the run's sha256s.
    await client.set(recordKey, JSON.stringify({ ...record, spec: { ...record.spec, models: { ...record.spec.models, denoiser: secret, classifier: secret } } }));
    const second = certifyWorker({ connection: connection(), name: 'own-models', threads: 1, tuning, idleExitMs: 1500, ...allowed })();
    const r = await coordinator;
    expect(E.isRight(r), E.isLeft(r) ? r.left.message : '').toBe(true);
    const served = await second;
    expect(E.isRight(served) && served.right.jobs).toBe(3);
    expect(refusals.join('\n')).not.toMatch(/TOP-SECRET/);
  });

  it('a worker with no model of the run (by sha256) refuses it, naming the sha256, without opening the run\'s paths', async () => {
    const refusals: string[] = [];
    const stop = new AbortController();
    const coordinator = runCertify(spec('unknown-model', 43), { scheduler: queueScheduler({ connection: connection(), tuning, signal: stop.signal, onRefusal: (_w, m) => (refusals.push(m), stop.abort()) }) })();
    const worker = await certifyWorker({ connection: connection(), name: 'bare', threads: 1, tuning, idleExitMs: 3000, data: allowed.data })();
    const r = await coordinator;
    expect(E.isLeft(r) && r.left.kind).toBe('queue-interrupted');
    expect(refusals.join('\n')).toMatch(/refuses run [0-9a-f]{16}: this worker has no classifier model with sha256 [0-9a-f]{12}… among the models it was started to allow/);
    expect(E.isRight(worker) && worker.right.jobs).toBe(0);
    await client.flushdb();
  });
});
