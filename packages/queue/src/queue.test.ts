// The queue layer against a real redis-server (started here on a free port), with the deterministic stand-in
// compute in place of certify: same rows as one process for 1 and 3 workers, split draw ranges, identity
// refusals, an unreachable Redis, a Redis restart that loses everything, and a coordinator stopped and resumed.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseQueueUrl } from './connection.js';
import type { QueueTuning } from './jobs.js';
import { type StandInConfig, type TestRedis, freePort, readStandInRows, runStandInCoordinator, runStandInWorker, standInReference, startTestRedis } from './testing/index.js';
import type { WorkerEvent } from './worker.js';

const tuning: Partial<QueueTuning> = { lockMs: 2000, stalledCheckMs: 500, sweepMs: 300, pollMs: 100, leaseMs: 1500, connectTimeoutMs: 2000, outageMs: 60_000 };
const config: StandInConfig = { seed: 7, numClasses: 10, n0: 10, n: 60, sigma: 0.25, alpha: 0.001 };
const indices = Array.from({ length: 12 }, (_, i) => i * 3);

let redis: TestRedis;
let work: string;
beforeAll(async () => {
  redis = await startTestRedis();
  work = mkdtempSync(join(tmpdir(), 'densepure-queue-'));
});
afterAll(async () => {
  await redis?.stop();
  rmSync(work, { recursive: true, force: true });
});

const connection = () => {
  const c = parseQueueUrl(redis.url);
  if (E.isLeft(c)) throw new Error(c.left.message);
  return c.right;
};

/** Starts n in-process workers that stop once no run has been open for a while. */
const startWorkers = (n: number, extra: { own?: Partial<StandInConfig>; msPerJob?: number; failOn?: number[]; events?: WorkerEvent[]; signal?: AbortSignal; name?: string } = {}) =>
  Array.from({ length: n }, (_, w) =>
    runStandInWorker({
      connection: connection(),
      name: `${extra.name ?? 'w'}${w}`,
      tuning,
      idleExitMs: 1500,
      ...(extra.own === undefined ? {} : { own: extra.own }),
      ...(extra.msPerJob === undefined ? {} : { msPerJob: extra.msPerJob }),
      ...(extra.failOn === undefined ? {} : { failOn: extra.failOn }),
      ...(extra.signal === undefined ? {} : { signal: extra.signal }),
      onEvent: (e) => extra.events?.push(e),
    })(),
  );

const flushRedis = async (): Promise<void> => {
  const client = new Redis(redis.url);
  try {
    await client.flushdb();
  } finally {
    client.disconnect();
  }
};

const rowsOf = (path: string) => readStandInRows(path).map((r) => [r.idx, r.label, r.predict, r.radius, r.correct]);

describe('queue layer with a stand-in compute', () => {
  it('1 and 3 workers write the rows of a single process, in index order; split draw ranges too', async () => {
    const expected = (await standInReference(config, indices)).map((r) => [r.idx, r.label, r.predict, r.radius, r.correct]);
    expect(new Set(expected.map((r) => r[2])).size).toBeGreaterThan(2); // certified, abstained and wrong rows
    for (const [workers, maxDrawsPerJob] of [
      [1, undefined],
      [3, undefined],
      [3, 25],
    ] as const) {
      const out = join(work, `same-${workers}-${maxDrawsPerJob ?? 'whole'}.tsv`);
      const progress: number[] = [];
      const running = startWorkers(workers);
      const run = await runStandInCoordinator({ connection: connection(), config: { ...config, ...(maxDrawsPerJob === undefined ? {} : { maxDrawsPerJob }) }, indices, out, tuning, onProgress: (p) => progress.push(p.itemsDone) })();
      expect(E.isRight(run), E.isLeft(run) ? run.left.message : '').toBe(true);
      expect(rowsOf(out)).toEqual(expected);
      expect(progress).toEqual(indices.map((_, i) => i + 1));
      const served = await Promise.all(running);
      const jobs = served.reduce((s, r) => s + (E.isRight(r) ? r.right.jobs : 0), 0);
      expect(jobs).toBe(indices.length * (maxDrawsPerJob === undefined ? 1 : 4));
    }
  });

  it('a worker whose identity differs refuses the run before taking a job, with the differing fields; others serve it', async () => {
    const out = join(work, 'refuse.tsv');
    const events: WorkerEvent[] = [];
    const refusals: string[] = [];
    const wrong = startWorkers(1, { own: { seed: 8 }, events, name: 'wrong' });
    await new Promise((r) => setTimeout(r, 300));
    const good = startWorkers(1, { msPerJob: 20, name: 'good' });
    const run = await runStandInCoordinator({ connection: connection(), config, indices: indices.slice(0, 4), out, tuning, onRefusal: (_w, m) => refusals.push(m) })();
    expect(E.isRight(run)).toBe(true);
    await Promise.all([...wrong, ...good]);
    const refused = events.find((e) => e.kind === 'refused');
    expect(refused?.kind === 'refused' && refused.message).toMatch(/refuses run [0-9a-f]{16}: .*seed: the run has 7, this worker has 8/);
    expect(events.some((e) => e.kind === 'job-started' || e.kind === 'job-done')).toBe(false);
    expect(refusals.length).toBeGreaterThanOrEqual(1);
    expect(rowsOf(out).map((r) => r[0])).toEqual(indices.slice(0, 4));
  });

  it('a refused run is served once its coordinator comes back with a spec the worker can open (no stale refusal)', async () => {
    const events: WorkerEvent[] = [];
    const worker = runStandInWorker({ connection: connection(), name: 'fixable', tuning, idleExitMs: 4000, modelPaths: ['/models/good.onnx'], onEvent: (e) => events.push(e) })();
    const stop = new AbortController();
    const refusals: string[] = [];
    const first = await runStandInCoordinator({
      connection: connection(),
      config: { ...config, seed: 21, modelPath: '/models/typo.onnx' },
      indices: indices.slice(0, 3),
      out: join(work, 'fixed.tsv'),
      tuning,
      signal: stop.signal,
      onRefusal: (_w, m) => {
        refusals.push(m);
        stop.abort();
      },
    })();
    expect(E.isRight(first) && first.right.aborted).toBe(true);
    expect(refusals.join('\n')).toMatch(/model file not found: \/models\/typo\.onnx/);
    // The same run (same identity), its paths fixed: the worker that refused it serves it now.
    const seen: string[] = [];
    const second = await runStandInCoordinator({ connection: connection(), config: { ...config, seed: 21, modelPath: '/models/good.onnx' }, indices: indices.slice(0, 3), out: join(work, 'fixed.tsv'), tuning, onRefusal: (_w, m) => seen.push(m) })();
    expect(E.isRight(second), E.isLeft(second) ? second.left.message : '').toBe(true);
    expect(rowsOf(join(work, 'fixed.tsv')).map((r) => r[0])).toEqual(indices.slice(0, 3));
    expect(seen).toEqual([]); // the first session's refusal is not shown again
    await worker;
    expect(events.filter((e) => e.kind === 'refused')).toHaveLength(1);
  });

  it('a refusal is tried again after refusalRetryMs (the worker\'s machine may have been fixed)', async () => {
    const events: WorkerEvent[] = [];
    const stop = new AbortController();
    const worker = runStandInWorker({ connection: connection(), tuning: { ...tuning, refusalRetryMs: 300 }, modelPaths: [], signal: stop.signal, onEvent: (e) => events.push(e) })();
    const run = runStandInCoordinator({ connection: connection(), config: { ...config, seed: 22, modelPath: '/models/missing.onnx' }, indices: indices.slice(0, 1), out: join(work, 'retry.tsv'), tuning, signal: stop.signal })();
    await new Promise((r) => setTimeout(r, 2000));
    stop.abort();
    await Promise.all([worker, run]);
    expect(events.filter((e) => e.kind === 'refused').length).toBeGreaterThanOrEqual(3);
    await flushRedis(); // the unserved run stays open otherwise, for the next tests' workers
  });

  it('an unreachable Redis is a clear error within seconds, for the coordinator and the worker', async () => {
    const port = await freePort();
    const dead = parseQueueUrl(`redis://127.0.0.1:${port}/0`);
    if (E.isLeft(dead)) throw new Error('bad url');
    const started = Date.now();
    const run = await runStandInCoordinator({ connection: dead.right, config, indices, out: join(work, 'dead.tsv'), tuning })();
    const worker = await runStandInWorker({ connection: dead.right, tuning })();
    expect(Date.now() - started).toBeLessThan(10_000);
    for (const r of [run, worker]) {
      expect(E.isLeft(r) && r.left.kind).toBe('queue-unreachable');
      expect(E.isLeft(r) && r.left.message).toMatch(new RegExp(`cannot reach Redis at redis://127.0.0.1:${port}/0: .*start redis-server`));
    }
  });

  it('a database the server does not have is refused, not silently database 0', async () => {
    const url = redis.url.replace(/\/0$/, '/16');
    const c = parseQueueUrl(url);
    if (E.isLeft(c)) throw new Error(c.left.message);
    for (const r of [await runStandInCoordinator({ connection: c.right, config, indices, out: join(work, 'db16.tsv'), tuning })(), await runStandInWorker({ connection: c.right, tuning })()]) {
      expect(E.isLeft(r) && r.left.kind).toBe('queue-url-invalid');
      expect(E.isLeft(r) && r.left.message).toMatch(/has no database 16: it has databases 0 to 15; name one of them/);
    }
  });

  it('another program on the port (an HTTP server) is named as such, in words', async () => {
    const server = createServer((_req, res) => res.end('hello'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const c = parseQueueUrl(`redis://127.0.0.1:${port}/0`);
      if (E.isLeft(c)) throw new Error('bad url');
      const r = await runStandInWorker({ connection: c.right, tuning })();
      expect(E.isLeft(r) && r.left.kind).toBe('queue-unreachable');
      expect(E.isLeft(r) && r.left.message).toMatch(new RegExp(`something listens on 127\\.0\\.0\\.1:${port} but .*check the port`));
      expect(E.isLeft(r) && r.left.message).not.toMatch(/Stream isn't writeable|enableOfflineQueue/);
    } finally {
      server.close();
    }
  });

  it('Redis killed and restarted empty mid-run: workers and coordinator reconnect, re-enqueue and finish with the same rows', async () => {
    const out = join(work, 'restart.tsv');
    const notices: string[] = [];
    const running = startWorkers(2, { msPerJob: 60 });
    const rows: number[] = [];
    let restarted: Promise<void> | null = null;
    const run = await runStandInCoordinator({
      connection: connection(),
      config,
      indices,
      out,
      tuning,
      onNotice: (m) => notices.push(m),
      onRow: (row) => {
        rows.push(row.idx);
        if (rows.length === 4) restarted = redis.kill().then(() => new Promise((r) => setTimeout(r, 500))).then(() => redis.start());
      },
    })();
    await restarted;
    expect(E.isRight(run), E.isLeft(run) ? run.left.message : '').toBe(true);
    expect(rowsOf(out)).toEqual((await standInReference(config, indices)).map((r) => [r.idx, r.label, r.predict, r.radius, r.correct]));
    expect(E.isRight(run) && run.right.reenqueued).toBeGreaterThan(0);
    expect(notices.join('\n')).toMatch(/lost the connection to Redis/);
    await Promise.all(running);
  });

  it('a coordinator stopped mid-run resumes: it enqueues nothing already done and accepts results already in Redis', async () => {
    const out = join(work, 'resume.tsv');
    const stop = new AbortController();
    const running = startWorkers(2, { msPerJob: 40 });
    const first = await runStandInCoordinator({
      connection: connection(),
      config,
      indices,
      out,
      tuning,
      signal: stop.signal,
      onRow: (row) => row.idx === indices[3] && stop.abort(),
    })();
    expect(E.isRight(first) && first.right.aborted).toBe(true);
    const written = readStandInRows(out).length;
    expect(written).toBeGreaterThanOrEqual(4);
    expect(written).toBeLessThan(indices.length);
    await new Promise((r) => setTimeout(r, 600)); // the workers go on meanwhile: their results wait in Redis
    const second = await runStandInCoordinator({ connection: connection(), config, indices, out, tuning })();
    expect(E.isRight(second), E.isLeft(second) ? second.left.message : '').toBe(true);
    expect(E.isRight(second) && second.right.foundDone).toBeGreaterThan(0);
    expect(E.isRight(second) && second.right.items).toBe(indices.length - written);
    expect(rowsOf(out)).toEqual((await standInReference(config, indices)).map((r) => [r.idx, r.label, r.predict, r.radius, r.correct]));
    const served = await Promise.all(running);
    expect(served.reduce((s, r) => s + (E.isRight(r) ? r.right.jobs : 0), 0)).toBe(indices.length);
  });

  it('workers leave a run whose coordinator is gone (stopped, or the run finished another way) after the orphan limit; a coordinator brings them back', async () => {
    const out = join(work, 'orphan.tsv');
    const stop = new AbortController();
    const events: WorkerEvent[] = [];
    const orphanTuning = { ...tuning, orphanMs: 600 };
    const running = Array.from({ length: 2 }, (_, w) =>
      runStandInWorker({ connection: connection(), name: `o${w}`, tuning: orphanTuning, idleExitMs: 5000, msPerJob: 100, onEvent: (e) => events.push(e) })(),
    );
    const many = Array.from({ length: 60 }, (_, i) => i);
    const first = await runStandInCoordinator({ connection: connection(), config: { ...config, seed: 31 }, indices: many, out, tuning, signal: stop.signal, onRow: (row) => row.idx === 3 && stop.abort() })();
    expect(E.isRight(first) && first.right.aborted).toBe(true);
    const doneAt = (): number => events.filter((e) => e.kind === 'job-done').length;
    await new Promise((r) => setTimeout(r, 1500)); // the orphan limit and the jobs in progress
    const settled = doneAt();
    await new Promise((r) => setTimeout(r, 1500));
    expect(doneAt()).toBe(settled); // no job computed for a run nobody collects
    expect(settled).toBeLessThan(many.length);
    expect(events.some((e) => e.kind === 'run-orphaned')).toBe(true);
    // A coordinator for the run again: the workers come back to it and it ends with every row.
    const second = await runStandInCoordinator({ connection: connection(), config: { ...config, seed: 31 }, indices: many, out, tuning })();
    expect(E.isRight(second), E.isLeft(second) ? second.left.message : '').toBe(true);
    expect(rowsOf(out).map((r) => r[0])).toEqual(many);
    await Promise.all(running);
  });

  it('a job that fails on every attempt stops the run with its reason; the rows before it stay', async () => {
    const out = join(work, 'failing.tsv');
    const stop = new AbortController(); // the failed run stays open (a rerun retries it), so the worker would wait on
    const running = startWorkers(1, { failOn: [indices[2]!], signal: stop.signal });
    const run = await runStandInCoordinator({ connection: connection(), config: { ...config, seed: 99 }, indices: indices.slice(0, 4), out, tuning: { ...tuning, attempts: 2 } })();
    expect(E.isLeft(run) && run.left).toMatchObject({ kind: 'queue-job-failed', idx: indices[2] });
    expect(E.isLeft(run) && run.left.message).toMatch(/image 6 \(part 1 of 1\) failed on every attempt: stand-in model failure on image 6/);
    expect(rowsOf(out).map((r) => r[0])).toEqual(indices.slice(0, 2));
    stop.abort();
    await Promise.all(running);
  });

  it('a second coordinator for the same run is refused while the first holds it', async () => {
    const stop = new AbortController();
    // Busy for longer than the second one waits for a lease to expire (2 x leaseMs).
    const running = startWorkers(1, { msPerJob: 600 });
    let started: () => void = () => undefined;
    const firstRow = new Promise<void>((resolve) => (started = resolve));
    const first = runStandInCoordinator({ connection: connection(), config: { ...config, seed: 5 }, indices, out: join(work, 'first.tsv'), tuning, signal: stop.signal, onRow: () => started() })();
    await firstRow;
    const second = await runStandInCoordinator({ connection: connection(), config: { ...config, seed: 5 }, indices, out: join(work, 'second.tsv'), tuning })();
    expect(E.isLeft(second) && second.left.kind).toBe('queue-run-busy');
    expect(E.isLeft(second) && second.left.message).toMatch(/another coordinator \(.+\) is collecting this run/);
    stop.abort();
    await first;
    const rest = await runStandInCoordinator({ connection: connection(), config: { ...config, seed: 5 }, indices, out: join(work, 'first.tsv'), tuning })();
    expect(E.isRight(rest)).toBe(true);
    await Promise.all(running);
  });

  it('an idle worker with an idle limit exits while Redis is down, saying why', async () => {
    const worker = runStandInWorker({ connection: connection(), tuning, idleExitMs: 1500 })();
    await new Promise((r) => setTimeout(r, 300));
    await redis.kill();
    const killedAt = Date.now();
    try {
      const r = await worker;
      expect(Date.now() - killedAt).toBeLessThan(5000);
      expect(E.isLeft(r) && r.left.kind).toBe('queue-lost');
      expect(E.isLeft(r) && r.left.message).toMatch(/is unreachable and this worker has served no run for 2 s \(its idle limit\): stopping/);
    } finally {
      await redis.start();
    }
  });

  it('Redis gone for longer than the outage limit stops the coordinator with a clear error; the rows stay', async () => {
    const out = join(work, 'outage.tsv');
    const running = startWorkers(1, { msPerJob: 50 });
    const run = await runStandInCoordinator({
      connection: connection(),
      config: { ...config, seed: 3 },
      indices,
      out,
      tuning: { ...tuning, outageMs: 1500 },
      onRow: (row) => row.idx === indices[1] && void redis.kill(),
    })();
    expect(E.isLeft(run) && run.left.kind).toBe('queue-lost');
    expect(E.isLeft(run) && run.left.message).toMatch(/unreachable for 2 s; the rows written so far stay/);
    expect(rowsOf(out).length).toBeGreaterThanOrEqual(2);
    await redis.start();
    await Promise.all(running);
  });

  it('a coordinator restarted with another draw split never mixes old parts into new ones', async () => {
    const out = join(work, 'resplit.tsv');
    const stop = new AbortController();
    const running = startWorkers(2, { msPerJob: 40 });
    const first = await runStandInCoordinator({ connection: connection(), config: { ...config, maxDrawsPerJob: 25 }, indices, out, tuning, signal: stop.signal, onRow: () => stop.abort() })();
    expect(E.isRight(first) && first.right.aborted).toBe(true);
    await new Promise((r) => setTimeout(r, 500)); // old-split results pile up in Redis
    const second = await runStandInCoordinator({ connection: connection(), config: { ...config, maxDrawsPerJob: 20 }, indices, out, tuning })();
    expect(E.isRight(second), E.isLeft(second) ? second.left.message : '').toBe(true);
    expect(rowsOf(out)).toEqual((await standInReference(config, indices)).map((r) => [r.idx, r.label, r.predict, r.radius, r.correct]));
    await Promise.all(running);
  });
});
