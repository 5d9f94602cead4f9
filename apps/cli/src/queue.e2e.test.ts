// End-to-end: `densepure certify --queue` with `densepure worker`s (built binaries, plain node, a private
// redis-server on a free port) on the shipped MNIST models. The real certify path, tiny N: 1 and 3 workers and
// split draw ranges give the rows of a single process; a worker whose model files differ refuses the run.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestRedis, startTestRedis } from '@densepure/queue/testing';
import * as zoo from '@densepure/zoo-mnist';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
let work: string;
let redis: TestRedis;
const children: ChildProcess[] = [];
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'densepure-queue-e2e-'));
  redis = await startTestRedis();
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await redis?.stop();
  rmSync(work, { recursive: true, force: true });
});

// Five images (skip 400), one-shot denoising, few draws, one intra-op thread per process: small on 2 cores.
const quick = ['--one-shot', '--N0', '10', '--N', '40', '--batch', '50', '--skip', '400', '--threads', '1', '--progress', 'none'];
const rowsOf = (path: string): string[][] => readFileSync(path, 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t').slice(0, 5));

interface Proc {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

const start = (args: readonly string[], cwd = work): Proc => {
  const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
  return { child, done, output: () => stdout + stderr };
};
const run = (args: readonly string[], cwd = work) => start(args, cwd).done;

/** Workers that serve until told to stop (SIGTERM: after the job in progress, then a summary line). */
const workers = (n: number, cwd = work, name = 'w') => Array.from({ length: n }, (_, i) => start(['worker', '--queue', redis.url, '--name', `${name}${i}`, '--threads', '1'], cwd));
const stopAll = async (procs: readonly Proc[]) => {
  for (const p of procs) p.child.kill('SIGTERM');
  return Promise.all(procs.map((p) => p.done));
};
const until = async (check: () => boolean, what: string, ms = 60_000): Promise<void> => {
  for (const deadline = Date.now() + ms; !check(); await new Promise((r) => setTimeout(r, 100))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
};

describe('densepure certify --queue with densepure workers', () => {
  let single: string[][];
  beforeAll(() => {
    const r = spawnSync(process.execPath, [bin, 'certify', ...quick, '--out', join(work, 'single.tsv')], { encoding: 'utf8', timeout: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    single = rowsOf(join(work, 'single.tsv'));
    expect(single).toHaveLength(5);
  });

  for (const [n, split] of [
    [1, false],
    [3, false],
    [2, true],
  ] as const) {
    it(`${n} worker${n > 1 ? 's' : ''}${split ? ', draws split into jobs of 15' : ''}: the rows and sidecar of a single process`, async () => {
      const out = join(work, `queued-${n}-${split}.tsv`);
      const serving = workers(n);
      const r = await run(['certify', ...quick, '--queue', redis.url, '--out', out, ...(split ? ['--max-draws-per-job', '15'] : [])]);
      expect(r.code, r.stderr).toBe(0);
      expect(rowsOf(out)).toEqual(single);
      const sidecar = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
      const reference = JSON.parse(readFileSync(join(work, 'single.tsv.json'), 'utf8'));
      expect(sidecar.status).toBe('complete');
      expect(sidecar.identity).toEqual(reference.identity);
      const done = await stopAll(serving);
      for (const w of done) expect(w.code, w.stderr).toBe(0);
      // Every job was taken by some worker: 5 images, or 5 x 4 draw ranges (10 + 40 draws in chunks of 15).
      const jobs = done.reduce((s, w) => s + Number(/(\d+) jobs in/.exec(w.stderr + w.stdout)?.[1] ?? 'NaN'), 0);
      expect(jobs).toBe(split ? 20 : 5);
    });
  }

  it('the coordinator SIGKILLed mid-run: the same command resumes and ends with the rows of a single process', async () => {
    const out = join(work, 'killed.tsv');
    const serving = workers(1);
    const args = ['certify', ...quick, '--queue', redis.url, '--out', out, '--progress', 'auto'];
    const first = start(args);
    await until(() => /2\/5 images/.test(first.output()), 'two rows');
    first.child.kill('SIGKILL');
    await first.done;
    const written = rowsOf(out).length;
    expect(written).toBeGreaterThanOrEqual(2);
    const second = await run(args);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain(`resuming ${out} after ${written} complete images`);
    expect(rowsOf(out)).toEqual(single);
    const [w] = await stopAll(serving);
    expect(w!.stderr).toContain('5 jobs in');
  });

  it('Ctrl-C on the coordinator: exit 130, says what stays, gives back its lease (the rerun starts at once) and resumes', async () => {
    const out = join(work, 'interrupted.tsv');
    const serving = workers(1, work, 'int');
    const args = ['certify', ...quick, '--queue', redis.url, '--out', out, '--progress', 'auto'];
    const first = start(args);
    await until(() => /2\/5 images/.test(first.output()), 'two rows');
    first.child.kill('SIGINT');
    const r = await first.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/^interrupted: stopped after \d of 5 images; the jobs stay queued: run the same command again/m);
    const second = await run(args);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).not.toMatch(/held by coordinator/);
    expect(rowsOf(out)).toEqual(single);
    await stopAll(serving);
  });

  it('a worker whose classifier manifest differs refuses the run, naming the field; a worker with the same files serves it', async () => {
    // Two "machines" with the same classifier, the manifest in other bytes on the second: the run is made there.
    const [here, there] = ['here', 'there'].map((d) => join(work, d));
    for (const dir of [here!, there!]) {
      mkdirSync(join(dir, 'models'), { recursive: true });
      copyFileSync(zoo.classifierPath, join(dir, 'models', 'classifier.onnx'));
      copyFileSync(zoo.classifierManifestPath, join(dir, 'models', 'classifier.json'));
    }
    const manifest = JSON.parse(readFileSync(zoo.classifierManifestPath, 'utf8'));
    writeFileSync(join(there!, 'models', 'classifier.json'), JSON.stringify(manifest)); // same content, other bytes
    // Workers load only the models they are started with, found for a run by sha256 (never by the run's paths).
    const wrong = start(['worker', '--queue', redis.url, '--name', 'here0', '--threads', '1', '--models', 'models'], here);
    const coordinator = start(['certify', ...quick, '--max', '401', '--classifier', 'models/classifier.onnx', '--queue', redis.url, '--out', 'out.tsv'], there);
    await until(() => /refuses run/.test(wrong.output()), 'the refusal');
    expect(wrong.output()).toMatch(/refuses run [0-9a-f]{16}: .*classifierManifestSha256: the run has "[0-9a-f]+", this worker has "[0-9a-f]+"/);
    const good = start(['worker', '--queue', redis.url, '--name', 'there0', '--threads', '1', '--models', 'models'], there);
    const r = await coordinator.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: worker here0 refuses run/);
    expect(rowsOf(join(there!, 'out.tsv'))).toEqual(single.slice(0, 2));
    const [refused, served] = await stopAll([wrong, good]);
    expect(refused!.stderr).toContain('0 jobs in 0 runs');
    expect(served!.stderr).toContain('2 jobs in 1 runs');
  });

  it('an unreachable queue is a clear error within seconds', async () => {
    const started = Date.now();
    const r = await run(['certify', ...quick, '--queue', 'redis://127.0.0.1:1/0', '--out', join(work, 'nowhere.tsv')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: cannot reach Redis at redis:\/\/127.0.0.1:1\/0: .*start redis-server/m);
    expect(Date.now() - started).toBeLessThan(15_000);
    const bad = await run(['worker', '--queue', 'localhost:6379']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('write it as redis://HOST:PORT/DB');
  });
});
