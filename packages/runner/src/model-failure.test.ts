// A model call that fails mid-image on the tiny 1x4x4 models: fixed-N and sequential CERTIFY return the
// runner's `model-run` error with the backend's error, as a value.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Denoiser, runtimeFailure } from '@densepure/backend';
import { makeMethodGroup } from '@densepure/voting';
import { type ImageSettings, type Pipeline, certifyImageCosted, openPipeline } from './index.js';
import { writeTinyRun } from './test-util/tiny-run.js';

const work = mkdtempSync(join(tmpdir(), 'densepure-model-failure-'));
let pipeline: Pipeline;

beforeAll(async () => {
  const { models, dataset } = await writeTinyRun(work, [0, 1]);
  const opened = await openPipeline({
    models: { denoiser: models.denoiser, classifier: models.classifier, workers: 0 },
    dataset: { spec: dataset },
    methods: [{ kind: 'dds' }, { kind: 'densepure', votes: 3, steps: 3 }],
    sigma: 0.5,
    seed: 3,
    batch: 8,
  })();
  if (E.isLeft(opened)) throw new Error(opened.left.message);
  pipeline = opened.right;
});
afterAll(async () => {
  await pipeline.dispose();
  rmSync(work, { recursive: true, force: true });
});

/** The pipeline's group on a denoiser whose calls fail from the `failFrom`-th on. */
function failingGroup(failFrom: number) {
  let calls = 0;
  const denoiser: Denoiser = {
    ...pipeline.denoiser!,
    run: (x, timesteps) => (++calls >= failFrom ? () => Promise.resolve(E.left(runtimeFailure('the device went away'))) : pipeline.denoiser!.run(x, timesteps)),
  };
  const group = makeMethodGroup(denoiser, pipeline.imageClassifier, pipeline.groupConfig);
  if (E.isLeft(group)) throw new Error(group.left.message);
  return group.right;
}

const settings: ImageSettings = { sigma: 0.5, n0: 4, n: 40, alpha: 0.01, batch: 8, models: { workers: 0 } };

describe('a model call that fails mid-image', () => {
  for (const [mode, modeSettings] of [
    ['fixed N', settings],
    ['sequential', { ...settings, n: 400, mode: { kind: 'sequential', radii: [0.25] } }],
  ] as const) {
    for (const failFrom of [1, 3]) {
      it(`${mode}: call ${failFrom} fails -> the runner's model-run error with the backend's error`, async () => {
        const result = await certifyImageCosted(pipeline, modeSettings, pipeline.dataset.get(0), 0, [0, 1], undefined, failingGroup(failFrom))();
        expect(result).toEqual(E.left({ kind: 'model-run', error: runtimeFailure('the device went away'), message: expect.stringContaining('the device went away') }));
      });
    }
  }
});
