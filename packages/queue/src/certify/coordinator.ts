// `densepure certify --queue`: the runner's certify loop (identity, resume, TSVs, sidecars) with its images
// certified by queue workers instead of in this process.
import { either as E } from 'fp-ts';
import { type ImageResult, type ImageScheduler, imageFromParts, modeOf, planDraws } from '@densepure/runner';
import type { QueueConnection } from '../connection.js';
import { collect } from '../coordinator.js';
import type { QueueError } from '../errors.js';
import type { QueueTuning } from '../jobs.js';
import type { ClusterProgress } from '../progress.js';
import { type CertifyAnswer, type CertifyPart, type DrawsAnswer, type ImageAnswer, parseCertifyAnswer, queueIdentity, workerSpecOf } from './protocol.js';

export interface QueuedCertifyOptions {
  readonly connection: QueueConnection;
  /** Split an image's N0 + N draws into jobs of at most this many draws (default: one job per image). */
  readonly maxDrawsPerJob?: number;
  readonly tuning?: Partial<QueueTuning>;
  /** Stops collecting; the rows written so far stay and a rerun resumes. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: ClusterProgress) => void;
  readonly onRefusal?: (worker: string, message: string) => void;
  readonly onNotice?: (message: string) => void;
}

/**
 * A scheduler for @densepure/runner's runCertify that enqueues the pending images (one job each, or one per
 * draw range when N0 + N exceeds `maxDrawsPerJob`) and hands their rows back in index order. Whole images are
 * certified on the worker by the runner's certifyImage; split images come back as vote counts, merged exactly
 * and decided here by core's certify, so either way the rows are those of a single process.
 */
export const queueScheduler =
  (o: QueuedCertifyOptions): ImageScheduler<QueueError> =>
  async ({ spec, pipeline, identities, pending, resumedImages, emit }) => {
    const numClasses = pipeline.group.members[0]!.numClasses;
    const draws = planDraws(spec.n0, spec.n, o.maxDrawsPerJob);
    const whole = draws.length === 1;
    if (!whole && !modeOf(spec.mode).countsAdd)
      return E.left({
        kind: 'queue-bad-setting',
        setting: 'maxDrawsPerJob',
        message: `splitting an image's draws over several jobs applies to fixed N only: ${modeOf(spec.mode).kind} certification decides ${spec.mode?.kind === 'cascade' ? 'after each noise level which draws come next' : 'after each round of draws'}, so each image is one job; leave the split (${o.maxDrawsPerJob} draws per job) unset`,
      });
    const partsOf = (wanted: readonly number[]): CertifyPart[] => (whole ? [{ wanted }] : draws.map((d) => ({ wanted, ranges: d.ranges })));
    const items = pending.map((p) => ({ idx: p.idx, parts: partsOf(p.wanted) }));
    const partsByIdx = new Map(items.map((i) => [i.idx, i.parts]));
    const toResult = async (idx: number, answers: readonly CertifyAnswer[], seconds: number): Promise<ImageResult> => {
      if (whole) return { rows: [...(answers[0] as ImageAnswer).rows], costs: [...(answers[0] as ImageAnswer).costs] };
      const image = await imageFromParts(spec, pipeline.dataset.get(idx), idx, numClasses, draws, answers as readonly DrawsAnswer[], seconds);
      // The parts were checked against their draw ranges as they came in (parseCertifyAnswer), so they tile the image.
      if (E.isLeft(image)) throw new Error(image.left.message);
      return image.right;
    };
    const collected = await collect<CertifyPart, CertifyAnswer>({
      connection: o.connection,
      identity: queueIdentity(identities),
      spec: workerSpecOf(spec),
      items,
      doneBefore: { items: resumedImages, jobs: resumedImages * (whole ? 1 : draws.length) },
      parseResult: (value, idx, part) => parseCertifyAnswer(value, idx, partsByIdx.get(idx)![part]!, numClasses),
      onItem: async (idx, results) => {
        const seconds = results.reduce((s, r) => s + r.seconds, 0);
        const { rows, costs } = await toResult(idx, results.map((r) => r.value), seconds);
        emit(idx, rows, costs);
      },
      ...(o.tuning === undefined ? {} : { tuning: o.tuning }),
      ...(o.signal === undefined ? {} : { signal: o.signal }),
      ...(o.onProgress === undefined ? {} : { onProgress: o.onProgress }),
      ...(o.onRefusal === undefined ? {} : { onRefusal: o.onRefusal }),
      ...(o.onNotice === undefined ? {} : { onNotice: o.onNotice }),
    })();
    if (E.isLeft(collected)) return collected;
    if (collected.right.aborted) {
      const of = resumedImages + items.length;
      const done = resumedImages + collected.right.items;
      return E.left({ kind: 'queue-interrupted', done, of, message: `stopped after ${done} of ${of} images; the jobs stay queued: run the same command again to collect the rest` });
    }
    return E.right(undefined);
  };
