import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { either as E } from 'fp-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Failure } from '@densepure/app-kit';
import { describeEvalError } from './errors.js';
import { type Experiment, expandGrid, parseExperimentText } from './experiment.js';
import { type GridResult, type RunGridOptions, cellPath, runGrid as runGridTask } from './grid.js';
import { loadSeries } from './report/load.js';
import { type TinyFixture, tinyExperimentYaml, writeTinyFixture } from './test-util/fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'densepure-eval-grid-'));
const results = join(work, 'results');
let fixture: TinyFixture;
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(async () => {
  fixture = await writeTinyFixture(join(work, 'fixture'), 4);
});

const experiment = (extra = '', name = 'tiny'): Experiment => {
  const x = parseExperimentText(tinyExperimentYaml(fixture, name, extra), 'tiny.yaml');
  if (E.isLeft(x)) throw x.left;
  return x.right;
};
// runGrid returns a TaskEither: these tests read its Right, and a Left as the failure the app would print.
const runGrid = async (x: Experiment, options: RunGridOptions): Promise<GridResult> => {
  const r = await runGridTask(x, options)();
  if (E.isLeft(r)) throw new Error(describeEvalError(r.left).message);
  return r.right;
};
const gridFailure = async (x: Experiment, options: RunGridOptions): Promise<Failure> => {
  const r = await runGridTask(x, options)();
  if (E.isRight(r)) throw new Error('expected the grid to fail');
  return describeEvalError(r.left);
};
const dataRows = (path: string): string[][] => readFileSync(path, 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t').slice(0, 5));

describe('runGrid over the tiny models', () => {
  const log: string[] = [];

  it('runs every cell (method x sigma) into its own TSV with a complete sidecar, reporting grid progress', async () => {
    const result = await runGrid(experiment(), { resultsRoot: results, log: (l) => log.push(l) });
    expect(result.dir).toBe(join(results, 'tiny'));
    expect(result.cells.map((c) => c.cell.id)).toEqual([
      'smoothing_sigma0.25_auto',
      'smoothing_sigma0.5_auto',
      'dds_sigma0.25_auto',
      'dds_sigma0.5_auto',
      'densepure-K2-b2_sigma0.25_auto',
      'densepure-K2-b2_sigma0.5_auto',
    ]);
    expect(result.cells.every((c) => c.outcome === 'ran' && c.rows === 4)).toBe(true);
    for (const c of result.cells) {
      expect(dataRows(c.out)).toHaveLength(4);
      const sidecar = JSON.parse(readFileSync(`${c.out}.json`, 'utf8'));
      expect(sidecar.status).toBe('complete');
      expect(sidecar.identity.sigma).toBe(c.cell.sigma);
    }
    const dense = JSON.parse(readFileSync(`${result.cells[5]!.out}.json`, 'utf8'));
    expect(dense.identity).toMatchObject({ method: 'densepure-K2-b2', K: 2, steps: 2, N0: 10, N: 40 });
    // Per-cell and whole-grid progress on every row; the last line counts all 24 images.
    expect(log.some((l) => /^\[cell 3\/6 dds_sigma0.25_auto\] image 2\/4 idx 1 .*\| grid 2\/6 cells, 10\/24 images, ETA \S+$/.test(l))).toBe(true);
    expect(log.at(-1)).toMatch(/done: 4 images.*grid 6\/6 cells, 24\/24 images/);
  }, 120_000);

  it('skips complete cells on rerun without touching their files', async () => {
    const first = cellPath(join(results, 'tiny'), { id: 'dds_sigma0.5_auto', method: { kind: 'dds' }, sigma: 0.5, backend: 'auto' });
    const before = statSync(first).mtimeMs;
    const lines: string[] = [];
    const result = await runGrid(experiment(), { resultsRoot: results, log: (l) => lines.push(l) });
    expect(result.cells.map((c) => c.outcome)).toEqual(Array(6).fill('skipped'));
    expect(statSync(first).mtimeMs).toBe(before);
    expect(lines.filter((l) => l.includes('complete, skipped'))).toHaveLength(6);
  }, 60_000);

  it('resumes a partial cell and ends with the rows of an uninterrupted run', async () => {
    const out = join(results, 'tiny', 'densepure-K2-b2_sigma0.25_auto.tsv');
    const reference = dataRows(out);
    // An interrupted run: two rows, a torn third line, the sidecar still 'running'.
    const text = readFileSync(out, 'utf8').split('\n');
    writeFileSync(out, `${text.slice(0, 3).join('\n')}\n${text[3]!.slice(0, 5)}`);
    const sidecar = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
    writeFileSync(`${out}.json`, JSON.stringify({ ...sidecar, status: 'running', rows: 2, summary: undefined }));

    const lines: string[] = [];
    const result = await runGrid(experiment(), { resultsRoot: results, log: (l) => lines.push(l) });
    const cell = result.cells.find((c) => c.out === out)!;
    expect(cell.outcome).toBe('resumed');
    expect(result.cells.filter((c) => c.outcome === 'skipped')).toHaveLength(5);
    expect(lines.some((l) => l.includes('resuming after 2/4 images'))).toBe(true);
    expect(dataRows(out)).toEqual(reference);
    expect(JSON.parse(readFileSync(`${out}.json`, 'utf8')).status).toBe('complete');
  }, 60_000);

  it('shareDraws runs the cells of a sigma side by side, each TSV row for row what it is alone', async () => {
    const lines: string[] = [];
    const result = await runGrid(experiment('shareDraws: true\n', 'tiny-shared'), { resultsRoot: results, log: (l) => lines.push(l) });
    expect(result.cells.map((c) => c.cell.id)).toEqual(expandGrid(experiment()).map((c) => c.id));
    for (const c of result.cells) {
      expect(dataRows(c.out), c.cell.id).toEqual(dataRows(join(results, 'tiny', basename(c.out))));
      const sidecar = JSON.parse(readFileSync(`${c.out}.json`, 'utf8'));
      expect(sidecar.status).toBe('complete');
      expect(sidecar.sharedDraws.methods).toEqual(['smoothing', 'dds', 'densepure-K2-b2']);
      // One t* call per draw for the three methods, one more for the second step of each of the 2 votes.
      expect(sidecar.sharedDraws.denoiserEvalsPerDraw).toBe(3);
    }
    expect(lines.filter((l) => l.includes('sharing draws with'))).toHaveLength(6);
    expect(lines.at(-1)).toMatch(/grid 6\/6 cells, 24\/24 images/);
  }, 120_000);

  it('runs a cascade cell per method, on shared draws with the other cascade cells only', async () => {
    const cascaded = (name: string, extra = ''): Experiment => {
      const x = parseExperimentText(tinyExperimentYaml(fixture, name, extra).replace('  N: 40\n', '  N: 40\n  cascade: { sigmas: [0.5, 0.25], p0: 0.6 }\n'), 'tiny.yaml');
      if (E.isLeft(x)) throw x.left;
      return x.right;
    };
    const lines: string[] = [];
    const grid = await runGrid(cascaded('tiny-cascade-shared', 'shareDraws: true\n'), { resultsRoot: results, log: (l) => lines.push(l) });
    const shared = grid.cells.filter((c) => c.cell.mode?.kind === 'cascade');
    expect(shared.map((c) => c.cell.id)).toEqual(['smoothing_cascade0.5-0.25_p0-0.6_auto', 'dds_cascade0.5-0.25_p0-0.6_auto', 'densepure-K2-b2_cascade0.5-0.25_p0-0.6_auto']);
    expect(grid.cells).toHaveLength(9);
    const alone = await runGrid(cascaded('tiny-cascade'), { resultsRoot: results, log: () => undefined, cells: 'cascade' });
    for (const [i, c] of shared.entries()) {
      expect(dataRows(c.out), c.cell.id).toEqual(dataRows(alone.cells[i]!.out));
      const sidecar = JSON.parse(readFileSync(`${c.out}.json`, 'utf8'));
      expect(sidecar.identity).toMatchObject({ sigma: 0.5, cascade: { sigmas: [0.5, 0.25], p0: 0.6 } });
      expect(sidecar.sharedDraws.methods).toEqual(['smoothing', 'dds', 'densepure-K2-b2']);
    }
    // The fixed-N cells of sigma 0.5 are another session: a cascade cell shares only with cascade cells, and back.
    const sharing = lines.filter((l) => l.includes('sharing draws with'));
    expect(sharing).toHaveLength(9);
    for (const l of sharing) expect(l.includes('cascade0.5') ? !/sharing draws with .*_sigma/.test(l) : !/sharing draws with .*cascade/.test(l)).toBe(true);
    // The report names a cascade series by its sigmas and p0, apart from the method's single-sigma series.
    const series = loadSeries(grid.dir);
    expect(E.isRight(series) && series.right.filter((x) => x.method.includes('cascade')).map((x) => [x.method, x.sigma])).toEqual([
      ['Gaussian smoothing (cascade σ 0.5/0.25, p0 0.6)', 0.5],
      ['DDS (one-shot) (cascade σ 0.5/0.25, p0 0.6)', 0.5],
      ['DensePure K=2, 2 steps (cascade σ 0.5/0.25, p0 0.6)', 0.5],
    ]);
  }, 120_000);

  it('--cells runs only the matching cells; a text matching none is a usage error', async () => {
    const result = await runGrid(experiment('', 'tiny-some'), { resultsRoot: results, log: () => undefined, cells: 'dds_' });
    expect(result.cells.map((c) => c.cell.id)).toEqual(['dds_sigma0.25_auto', 'dds_sigma0.5_auto']);
    const error = await gridFailure(experiment('', 'tiny-none'), { resultsRoot: results, log: () => undefined, cells: 'nosuch' });
    expect(error.kind).toBe('failure');
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(/--cells 'nosuch' matches no cell of tiny-none/);
    expect(existsSync(join(results, 'tiny-none'))).toBe(false);
  }, 60_000);

  it('refuses a grid whose configuration changed before running any cell', async () => {
    const out = join(results, 'tiny', 'smoothing_sigma0.25_auto.tsv');
    const before = readFileSync(out, 'utf8');
    const changed = experiment().certify;
    const x = { ...experiment(), certify: { ...changed, N: 50 } };
    await expect(runGrid(x, { resultsRoot: results, log: () => undefined })).rejects.toThrow(/another configuration \(N: 40 -> 50\)/);
    expect(readFileSync(out, 'utf8')).toBe(before);
  });

  it('rejects an unknown backend with the allowed ones (exit 2), creating nothing', async () => {
    const x = experiment('backends: [onnx, nosuch]\n', 'bad-backend');
    const error = await gridFailure(x, { resultsRoot: results, log: () => undefined });
    expect(error.kind).toBe('failure');
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(/backends\[1\]: unknown backend 'nosuch'; allowed: auto, onnx/);
    expect(existsSync(join(results, 'bad-backend'))).toBe(false);
  });

  it('a model that fails to load leaves no results folder', async () => {
    const x = { ...experiment('', 'bad-model'), models: { denoiser: join(work, 'missing.onnx'), classifier: fixture.classifier } };
    await expect(runGrid({ ...x, methods: [{ kind: 'dds' as const }] }, { resultsRoot: results, log: () => undefined })).rejects.toThrow(/missing.onnx/);
    expect(existsSync(join(results, 'bad-model'))).toBe(false);
  });
});
