// `densepure serve` against `densepure certify` and `densepure predict` (the built binary under plain node, the
// shipped MNIST models): the same images and seed give exactly the same rows and costs, with the requests sent at
// once so their model calls are merged; a bad token exits 2 before anything loads; SIGTERM stops it cleanly.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { either as E } from 'fp-ts';
import { afterAll, describe, expect, it } from 'vitest';
import type { Dataset } from '@densepure/datasets';
import { readCosts } from '@densepure/runner';
import { createClient } from '@densepure/serve/client';
import * as zoo from '@densepure/zoo-mnist';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'densepure-serve-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

/** Data rows of a TSV, as text columns. */
const rows = (path: string): string[][] =>
  readFileSync(path, 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));

/** Starts `densepure serve` and resolves with its URL once it logs that it is ready. */
function startServe(args: string[]): Promise<{ child: ChildProcess; url: string; lines: string[] }> {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    let url = '';
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        const entry = JSON.parse(line) as { msg: string; url?: string };
        if (entry.url !== undefined) url = entry.url;
        if (entry.msg === 'ready') resolve({ child, url, lines });
      }
    });
    child.once('exit', (code) => reject(new Error(`densepure serve exited ${code} before it was ready: ${lines.join('\n')}`)));
  });
}

// At sigma 1 the draws disagree often enough that another seed or index changes the radii and the draws spent.
const settings = ['--sigma', '1', '--N0', '20', '--N', '200', '--alpha', '0.01', '--seed', '3', '--batch', '64'];
const slice = ['--skip', '500', '--max', '1500'];
const indices = [0, 500, 1000];

describe('densepure serve (built binary)', () => {
  it('answers exactly what densepure certify and predict write for the same images and seed', async () => {
    const certified = join(work, 'certify.tsv');
    const c = cli('certify', '--method', 'dds', '--max-radius', '0.5', ...settings, ...slice, '--progress', 'none', '--out', certified);
    expect(c.code, c.stderr).toBe(0);
    const predicted = join(work, 'predict.tsv');
    const p = cli('predict', '--method', 'dds', '--sigma', '1', '--N', '60', '--alpha', '0.01', '--seed', '3', '--batch', '64', ...slice, '--out', predicted);
    expect(p.code, p.stderr).toBe(0);

    const opened = await zoo.catalog.dataset('default')();
    if (E.isLeft(opened)) throw new Error(opened.left.message);
    const dataset: Dataset = opened.right;
    const { child, url } = await startServe(['--method', 'dds', ...settings]);
    try {
      const client = createClient({ url });
      const image = (idx: number) => ({ image: dataset.get(idx).image, shape: [1, 28, 28] as const });
      // All at once: the server merges their model calls, which must not change a single count.
      const [certificates, predictions] = await Promise.all([
        Promise.all(indices.map((index) => client.certify('default', { ...image(index), parameters: { max_radius: 0.5, index } }))),
        Promise.all(indices.map((index) => client.certify('default', { ...image(index), parameters: { n: 60, index, seed: 3 } }))),
      ]);
      const costs = readCosts(certified);
      rows(certified).forEach(([idx, , predict, radius], i) => {
        const got = certificates[i]!;
        if (E.isLeft(got)) throw new Error(got.left.error);
        expect(Number(idx)).toBe(indices[i]);
        expect({ idx, predict: String(got.right.label), radius: got.right.radius!.toFixed(6) }).toEqual({ idx, predict, radius });
        expect(got.right.seed).toBe(3);
        expect({ selection: got.right.draws_selection, estimation: got.right.draws_estimation }).toEqual(costs[i]!.draws);
        expect({ denoiser: got.right.evaluations_denoiser, classifier: got.right.evaluations_classifier }).toEqual(costs[i]!.evaluations);
      });
      rows(predicted).forEach(([idx, , predict], i) => {
        const got = predictions[i]!;
        if (E.isLeft(got)) throw new Error(got.left.error);
        expect({ idx, predict: String(got.right.label) }).toEqual({ idx, predict });
      });
    } finally {
      child.kill('SIGTERM');
    }
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
  }, 240_000);

  it('refuses a bad token with exit 2 before loading anything', () => {
    const short = spawnSync(process.execPath, [bin, 'serve'], { encoding: 'utf8', env: { ...process.env, DENSEPURE_SERVE_TOKEN: 'short' } });
    expect(short.status).toBe(2);
    expect(short.stderr).toContain('shorter than 16 characters');
  });
});
