// Kill tests with real processes (the built dist/testing/stand-in-process.js under plain node) and a real
// redis-server: a worker SIGKILLed mid-job, whose job another worker takes over once its lock expires, and a
// coordinator SIGKILLed mid-run and started again. Either way: every row once, in order, equal to one process.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueueTuning } from './jobs.js';
import { type StandInConfig, type TestRedis, readStandInRows, standInReference, startTestRedis } from './testing/index.js';

const script = fileURLToPath(new URL('../dist/testing/stand-in-process.js', import.meta.url));
const tuning: Partial<QueueTuning> = { lockMs: 1500, stalledCheckMs: 400, sweepMs: 300, pollMs: 100, leaseMs: 1200, connectTimeoutMs: 2000 };
const config: StandInConfig = { seed: 11, numClasses: 10, n0: 10, n: 60, sigma: 0.5, alpha: 0.001 };
const indices = Array.from({ length: 10 }, (_, i) => i * 5 + 1);

let redis: TestRedis;
let work: string;
const children: ChildProcess[] = [];
beforeAll(async () => {
  redis = await startTestRedis();
  work = mkdtempSync(join(tmpdir(), 'densepure-queue-faults-'));
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await redis?.stop();
  rmSync(work, { recursive: true, force: true });
});

interface Proc {
  readonly child: ChildProcess;
  readonly events: Record<string, unknown>[];
  /** Resolves with the first event that matches. */
  waitFor(match: (e: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  readonly exited: Promise<{ code: number | null; stderr: string }>;
}

function start(args: Record<string, unknown>): Proc {
  const child = spawn(process.execPath, [script, JSON.stringify({ url: redis.url, config, tuning, ...args })], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const events: Record<string, unknown>[] = [];
  const waiters: { match: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }[] = [];
  let buffer = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const event = JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>;
      buffer = buffer.slice(nl + 1);
      events.push(event);
      for (const w of waiters.filter((w) => w.match(event))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(event);
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
  return {
    child,
    events,
    exited,
    waitFor: (match) => {
      const seen = events.find(match);
      return seen !== undefined ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
}

const killed = async (p: Proc): Promise<void> => {
  p.child.kill('SIGKILL');
  await p.exited;
};

const expectedRows = async () => (await standInReference(config, indices)).map((r) => [r.idx, r.label, r.predict, r.radius, r.correct]);
const rowsOf = (path: string) => readStandInRows(path).map((r) => [r.idx, r.label, r.predict, r.radius, r.correct]);

describe('faults with real processes', () => {
  it('a worker SIGKILLed mid-job: another worker takes its job over, no row lost or duplicated', async () => {
    const out = join(work, 'worker-kill.tsv');
    const victim = start({ role: 'worker', name: 'victim', msPerJob: 400, idleExitMs: 3000 });
    const coordinator = start({ role: 'coordinator', indices, out });
    const midJob = (await victim.waitFor((e) => e.kind === 'job-started' && e.idx === indices[2])) as { idx: number };
    await killed(victim);
    const rescuer = start({ role: 'worker', name: 'rescuer', msPerJob: 100, idleExitMs: 3000 });
    const done = await coordinator.exited;
    expect(done.code, done.stderr).toBe(0);
    expect(rowsOf(out)).toEqual(await expectedRows());
    // The job the victim held was finished by the rescuer (after the victim's lock expired).
    expect(rescuer.events.some((e) => e.kind === 'job-done' && e.idx === midJob.idx)).toBe(true);
    expect((await rescuer.exited).code).toBe(0);
  });

  it('SIGTERM on a worker mid-job stops it within the stop grace (the job given up, not finished); another worker takes the job over', async () => {
    const out = join(work, 'worker-term.tsv');
    const slow = start({ role: 'worker', name: 'slow', msPerJob: 120_000, idleExitMs: 3000, tuning: { ...tuning, stopGraceMs: 1000 } });
    const coordinator = start({ role: 'coordinator', indices, out });
    const midJob = (await slow.waitFor((e) => e.kind === 'job-started')) as { idx: number };
    const termAt = Date.now();
    slow.child.kill('SIGTERM');
    const exited = await slow.exited;
    expect(Date.now() - termAt).toBeLessThan(5000);
    expect(exited.code).toBe(0);
    expect(slow.events.some((e) => e.kind === 'job-abandoned' && e.idx === midJob.idx)).toBe(true);
    const rescuer = start({ role: 'worker', name: 'rescuer', msPerJob: 50, idleExitMs: 3000 });
    const done = await coordinator.exited;
    expect(done.code, done.stderr).toBe(0);
    expect(rowsOf(out)).toEqual(await expectedRows());
    expect(rescuer.events.some((e) => e.kind === 'job-done' && e.idx === midJob.idx)).toBe(true);
    expect((await rescuer.exited).code).toBe(0);
  });

  it('a coordinator SIGKILLed mid-run and started again resumes, accepting the results that waited in Redis', async () => {
    const out = join(work, 'coordinator-kill.tsv');
    const worker = start({ role: 'worker', name: 'w', msPerJob: 150, idleExitMs: 4000 });
    const first = start({ role: 'coordinator', indices, out });
    await first.waitFor((e) => e.kind === 'row' && e.idx === indices[3]);
    await killed(first);
    const before = readStandInRows(out).length;
    expect(before).toBeLessThan(indices.length);
    await worker.waitFor((e) => e.kind === 'job-done' && e.idx === indices[before + 1]); // results pile up in Redis meanwhile
    const second = start({ role: 'coordinator', indices, out });
    const done = await second.exited;
    expect(done.code, done.stderr).toBe(0);
    expect(rowsOf(out)).toEqual(await expectedRows());
    const summary = second.events.find((e) => e.kind === 'done')?.summary as { foundDone: number; items: number };
    expect(summary.foundDone).toBeGreaterThan(0);
    expect(summary.items).toBe(indices.length - before);
    // Nothing was computed twice: the worker did every job exactly once.
    const jobsDone = worker.events.filter((e) => e.kind === 'job-done').map((e) => e.idx);
    expect(new Set(jobsDone).size).toBe(jobsDone.length);
    expect((await worker.exited).code).toBe(0);
  });
});
