// `densepure-eval run --queue`: the built binary collects every cell of a grid from queue workers (here two
// in-process @densepure/queue certifyWorkers and a private redis-server) and writes the TSVs a local run writes.
import '@densepure/backend-onnx';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { either as E } from 'fp-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certifyWorker, parseQueueUrl } from '@densepure/queue';
import { type TestRedis, startTestRedis } from '@densepure/queue/testing';
import { tinyExperimentYaml, writeTinyFixture } from './test-util/fixtures.js';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
let work: string;
let redis: TestRedis;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'densepure-eval-queue-'));
  redis = await startTestRedis();
});
afterAll(async () => {
  await redis?.stop();
  rmSync(work, { recursive: true, force: true });
});

const rowsOf = (path: string): string[][] => readFileSync(path, 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t').slice(0, 5));

describe('densepure-eval run --queue', () => {
  it('a grid certified on queue workers writes the rows of a local run, cell by cell', async () => {
    const fixture = await writeTinyFixture(join(work, 'fixture'), 3);
    const file = join(work, 'tiny.yaml');
    writeFileSync(file, tinyExperimentYaml(fixture, 'queued-grid', 'shareDraws: true\n'));
    const local = spawnSync(process.execPath, [bin, 'run', file, '--results', join(work, 'local')], { encoding: 'utf8', timeout: 120_000 });
    expect(local.status, local.stderr).toBe(0);

    const connection = parseQueueUrl(redis.url);
    if (E.isLeft(connection)) throw new Error(connection.left.message);
    const stop = new AbortController();
    const tuning = { pollMs: 100, sweepMs: 300 };
    // The workers may open the fixture's models (found for a run by sha256) and dataset, nothing else.
    const allowed = { models: [fixture.denoiser, fixture.classifier], data: [fixture.dataset] };
    const workers = [0, 1].map((w) => certifyWorker({ connection: connection.right, name: `w${w}`, signal: stop.signal, tuning, ...allowed })());
    const queued = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [bin, 'run', file, '--results', join(work, 'queued'), '--queue', redis.url], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('exit', (code) => resolve({ code, stderr }));
    });
    stop.abort();
    const served = await Promise.all(workers);
    expect(queued.code, queued.stderr).toBe(0);
    expect(queued.stderr).toMatch(/3\/3 images, 3\/3 jobs/);
    const cells = readdirSync(join(work, 'local', 'queued-grid')).filter((f) => f.endsWith('.tsv')).sort();
    expect(cells).toHaveLength(6);
    expect(readdirSync(join(work, 'queued', 'queued-grid')).filter((f) => f.endsWith('.tsv')).sort()).toEqual(cells);
    for (const cell of cells) expect(rowsOf(join(work, 'queued', 'queued-grid', cell)), cell).toEqual(rowsOf(join(work, 'local', 'queued-grid', cell)));
    // Two sessions of shared draws (one per sigma), 3 images each.
    expect(served.reduce((s, r) => s + (E.isRight(r) ? r.right.jobs : 0), 0)).toBe(6);
  });
});
