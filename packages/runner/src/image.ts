// One image, certified: the unit of work of a run, of a queue worker and of anything that schedules images itself.
import { taskEither as TE } from 'fp-ts';
import type { Sample } from '@densepure/datasets';
import type { MethodGroup } from '@densepure/voting';
import type { RowCost } from './accounting.js';
import type { RunError } from './errors.js';
import { modeOf } from './modes/index.js';
import type { Pipeline } from './pipeline.js';
import type { RunSpec } from './spec.js';
import type { CertifyRow } from './tsv.js';

/** CERTIFY's settings for one image, as a RunSpec gives them. */
export type ImageSettings = Pick<RunSpec, 'sigma' | 'n0' | 'n' | 'alpha' | 'batch' | 'mode'> & { readonly models: Pick<RunSpec['models'], 'workers'> };

/** One image's rows (one per wanted method) and what each cost. */
export interface ImageResult {
  readonly rows: CertifyRow[];
  readonly costs: RowCost[];
}

/** What a mode needs to certify one image. */
export interface ImageTask {
  readonly pipeline: Pipeline;
  readonly settings: ImageSettings;
  readonly sample: Sample;
  readonly idx: number;
  /** Indices into `pipeline.methods`. */
  readonly wanted: readonly number[];
  /** The method group to evaluate with (default `pipeline.group`; a grouped run passes one whose calls are merged across images). */
  readonly group: MethodGroup;
  /** Draws finished so far on this image (N0 + N in all), for progress bars. */
  readonly onDraws?: (done: number) => void;
}

/**
 * Certifies one image with an open pipeline for the methods listed in `wanted` (indices into
 * `pipeline.methods`), on shared draws, as `settings.mode` says (fixed N or sequential). One row per wanted
 * method, in that order, and what each cost; a row's time is the wall time of the shared evaluation.
 */
export function certifyImageCosted(
  pipeline: Pipeline,
  settings: ImageSettings,
  sample: Sample,
  idx: number,
  wanted: readonly number[],
  onDraws?: (done: number) => void,
  group: MethodGroup = pipeline.group,
): TE.TaskEither<RunError, ImageResult> {
  return modeOf(settings.mode).certifyImage({ pipeline, settings, sample, idx, wanted, group, ...(onDraws === undefined ? {} : { onDraws }) });
}

/** {@link certifyImageCosted}'s rows alone. */
export const certifyImage = (pipeline: Pipeline, settings: ImageSettings, sample: Sample, idx: number, wanted: readonly number[], onDraws?: (done: number) => void): TE.TaskEither<RunError, CertifyRow[]> =>
  TE.map((result: ImageResult) => result.rows)(certifyImageCosted(pipeline, settings, sample, idx, wanted, onDraws));
