// The shipped smoke grid, experiments/mnist-small.yaml, on the shipped MNIST models (@densepure/zoo-mnist),
// through the built binary under plain node: run, rerun (all skipped), report. About half a minute on 2 cores.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const experiment = fileURLToPath(new URL('../../../experiments/mnist-small.yaml', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'densepure-eval-mnist-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 900_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('experiments/mnist-small.yaml on the shipped models', () => {
  it('runs all 6 cells, skips them on rerun, and reports them', () => {
    const results = join(work, 'results');
    const run = cli('run', experiment, '--results', results);
    expect(run.code, run.stderr).toBe(0);
    const dir = join(results, 'mnist-small');
    const tsvs = readdirSync(dir).filter((f) => f.endsWith('.tsv')).sort();
    expect(tsvs).toEqual([
      'dds_sigma0.25_auto.tsv',
      'dds_sigma0.5_auto.tsv',
      'densepure-K2-b2_sigma0.25_auto.tsv',
      'densepure-K2-b2_sigma0.5_auto.tsv',
      'smoothing_sigma0.25_auto.tsv',
      'smoothing_sigma0.5_auto.tsv',
    ]);
    for (const f of tsvs) {
      const rows = readFileSync(join(dir, f), 'utf8').trim().split('\n').slice(1);
      expect(rows.map((r) => r.split('\t')[0])).toEqual(['0', '400', '800', '1200', '1600']);
      const sidecar = JSON.parse(readFileSync(join(dir, `${f}.json`), 'utf8'));
      expect(sidecar).toMatchObject({ status: 'complete', identity: { N0: 10, N: 40, skip: 400, seed: 0 } });
    }
    const again = cli('run', experiment, '--results', results);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr.match(/complete, skipped/g)).toHaveLength(6);

    const report = cli('report', dir);
    expect(report.code, report.stderr).toBe(0);
    const md = readFileSync(join(dir, 'report', 'certified-accuracy.md'), 'utf8');
    for (const method of ['Gaussian smoothing', 'DDS (one-shot)', 'DensePure K=2, 2 steps']) expect(md).toContain(`| ${method} | 0.25 |`);
    const svg = readFileSync(join(dir, 'report', 'certified-accuracy.svg'), 'utf8');
    expect(svg).toContain('>Certified accuracy: mnist-small</text>');
  }, 900_000);
});
