// Fixed N (Cohen et al. 2019): N0 draws select the class, N draws estimate it, a Clopper-Pearson bound certifies.
import { either as E } from 'fp-ts';
import { certify } from '@densepure/core';
import type { EvaluationTally } from '@densepure/voting';
import { modelRunError } from '../errors.js';
import type { ImageResult, ImageTask } from '../image.js';
import { certifyRow } from '../tsv.js';
import { inTurn } from '../schedule.js';
import { drawsPerBatch } from '../batch.js';
import type { Mode, ModeEntry } from './types.js';

async function certifyFixed(task: ImageTask): Promise<E.Either<ReturnType<typeof modelRunError>, ImageResult>> {
  const { pipeline, settings, sample, idx, wanted, group, onDraws } = task;
  const started = performance.now();
  const tally: EvaluationTally = { denoiser: 0, classifier: 0 };
  const batchSize = drawsPerBatch(settings.batch, pipeline.methods, settings.models.workers);
  const numClasses = group.members[0]!.numClasses;
  const samplers = group.samplers(sample.image, idx, wanted, tally);
  const certified = E.sequenceArray(
    await Promise.all(
      wanted.map((_, w) =>
        certify(samplers[w]!, {
          sigma: settings.sigma,
          n0: settings.n0,
          n: settings.n,
          alpha: settings.alpha,
          batchSize,
          numClasses,
          onBatch: w === 0 && onDraws !== undefined ? (p) => onDraws(p.phase === 'selection' ? p.doneInPhase : settings.n0 + p.doneInPhase) : undefined,
        }),
      ),
    ),
  );
  if (E.isLeft(certified)) return E.left(modelRunError(certified.left));
  const seconds = (performance.now() - started) / 1000;
  return E.right({
    rows: certified.right.map((result) => certifyRow(sample, idx, result.label, result.kind === 'certified' ? result.radius : null, seconds)),
    costs: certified.right.map(() => ({ idx, draws: { selection: settings.n0, estimation: settings.n }, evaluations: { ...tally } })),
  });
}

export const fixedMode: Mode = {
  kind: 'fixed',
  validate: () => null,
  // A fixed-N identity has no mode field: runs made before modes existed keep resuming.
  identity: () => ({}),
  sidecar: () => ({}),
  costInSidecar: false,
  countsAdd: true,
  certifyImage: (task) => () => certifyFixed(task),
  certifyLocally: (context) =>
    inTurn(context, (image) =>
      certifyFixed({
        pipeline: context.pipeline,
        settings: context.spec,
        sample: context.pipeline.dataset.get(image.idx),
        idx: image.idx,
        wanted: image.wanted,
        group: context.pipeline.group,
        ...(context.onDraws === undefined ? {} : { onDraws: context.onDraws }),
      }),
    ),
};

export const fixedEntry: ModeEntry<{ readonly kind: 'fixed' }> = { identityFields: {}, bind: () => fixedMode };
