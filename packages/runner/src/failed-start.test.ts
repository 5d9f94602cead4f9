// A failed start leaves nothing that blocks a rerun ): output names near the 255-byte limit, a
// model that fails on its first batch, outputs stuck by older versions. Rows already written are never removed.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E, taskEither as TE } from 'fp-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, type Classifier, getBackend, registerBackend, runtimeFailure } from '@densepure/backend';
import { TINY_CLASSES, TINY_PIXELS, writeTinyModels } from '@densepure/backend/testing';
import { encodeDpds } from '@densepure/datasets';
import { type RunSpec, runCertify } from './index.js';

const work = mkdtempSync(join(tmpdir(), 'densepure-failed-start-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let common: Omit<RunSpec, 'runs'>;
/** While true, the 'flaky' backend's classifier fails every batch. */
let failing = true;

beforeAll(async () => {
  const models = await writeTinyModels(join(work, 'models'));
  const pixels = Float32Array.from({ length: 3 * TINY_PIXELS }, (_, i) => ((i * 37) % 256) / 255);
  const dataset = join(work, 'tiny.bin');
  writeFileSync(dataset, encodeDpds(pixels, Uint8Array.from([0, 1, 2]), [1, 4, 4], TINY_CLASSES));
  common = { models: { denoiser: models.denoiser, classifier: models.classifier, workers: 0 }, dataset: { spec: dataset, skip: 1 }, sigma: 0.5, seed: 3, batch: 12, n0: 4, n: 20, alpha: 0.001 };
  await import('@densepure/backend-onnx');
  const onnx = getBackend('onnx')!;
  const flaky: Backend = {
    name: 'flaky',
    priority: -1,
    formats: ['onnx'],
    probe: () => onnx.probe(),
    loadDenoiser: (m, o) => onnx.loadDenoiser(m, o),
    loadClassifier: (m, o) =>
      TE.map((c: Classifier) => ({
        ...c,
        metadata: { ...c.metadata, backend: 'flaky' },
        run: (x: Float32Array, batch: number) => (failing ? TE.left(runtimeFailure('the flaky test backend fails this batch')) : c.run(x, batch)),
      }))(onnx.loadClassifier(m, o)),
  };
  registerBackend(flaky);
});

const smoothing = { kind: 'smoothing' } as const;
const dataLines = (path: string): number => readFileSync(path, 'utf8').trim().split('\n').length - 1;

describe('a failed start leaves nothing that blocks a rerun', () => {
  it('certifies to an output whose name has 250 bytes (its sidecar 255): temp files use short names', async () => {
    const out = join(work, `${'n'.repeat(246)}.tsv`);
    const r = await runCertify({ ...common, runs: [{ method: smoothing, out }] })();
    expect(E.isRight(r), E.isLeft(r) ? r.left.message : '').toBe(true);
    expect(JSON.parse(readFileSync(`${out}.json`, 'utf8')).status).toBe('complete');
  });

  it('refuses a name whose sidecar would pass 255 bytes before writing anything', async () => {
    const dir = join(work, 'long');
    const out = join(dir, `${'n'.repeat(248)}.tsv`);
    const r = await runCertify({ ...common, runs: [{ method: smoothing, out }] })();
    expect(E.isLeft(r) && r.left.message).toMatch(/255-byte limit of file names \(use at most 250 bytes\)/);
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
  });

  it('removes the empty TSV and sidecar of a run whose first batch fails; the corrected rerun then runs', async () => {
    const out = join(work, 'first-batch.tsv');
    failing = true;
    const r = await runCertify({ ...common, models: { ...common.models, backend: 'flaky' }, runs: [{ method: smoothing, out }] })();
    expect(E.isLeft(r) && r.left.message).toMatch(/flaky test backend fails/);
    expect(readdirSync(work).filter((f) => f.startsWith('first-batch'))).toEqual([]);
    const rerun = await runCertify({ ...common, runs: [{ method: smoothing, out }] })();
    expect(E.isRight(rerun), E.isLeft(rerun) ? rerun.left.message : '').toBe(true);
    expect(dataLines(out)).toBe(3);
  });

  it('lets any configuration replace a header-only TSV whose sidecar says failed (left by older versions)', async () => {
    const out = join(work, 'stuck.tsv');
    writeFileSync(out, 'idx\tlabel\tpredict\tradius\tcorrect\ttime\n');
    writeFileSync(`${out}.json`, JSON.stringify({ status: 'failed', identity: { method: 'smoothing', sigma: 0.5, classifierSha256: 'old' } }));
    const r = await runCertify({ ...common, runs: [{ method: smoothing, out }] })();
    expect(E.isRight(r), E.isLeft(r) ? r.left.message : '').toBe(true);
    expect(dataLines(out)).toBe(3);
  });

  it('keeps the rows of a run that fails later, and resumes after them', async () => {
    const out = join(work, 'later.tsv');
    failing = false;
    const spec: RunSpec = { ...common, models: { ...common.models, backend: 'flaky' }, runs: [{ method: smoothing, out }] };
    const r = await runCertify(spec, { hooks: { onRow: () => (failing = true) } })();
    expect(E.isLeft(r)).toBe(true);
    expect(dataLines(out)).toBe(1);
    expect(JSON.parse(readFileSync(`${out}.json`, 'utf8')).status).toBe('failed');
    failing = false;
    const resumed = await runCertify(spec)();
    if (E.isLeft(resumed)) throw new Error(resumed.left.message);
    expect(resumed.right[0]!.resumedRows).toBe(1);
    expect(dataLines(out)).toBe(3);
  });
});
