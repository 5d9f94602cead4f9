// Draws computed elsewhere (queue workers on other machines): what the server needs of such a source, and the
// method group that hands a request's draws to it. The sequential loop, PREDICT and fixed-N certification run here
// unchanged on these counts; the noise of every draw is addressed by (seed, index, draw), so the workers' counts,
// added up over the ranges, are exactly those the server would make itself.
import { either as E, type taskEither as TE } from 'fp-ts';
import { type BackendError, type ModelMetadata, runtimeFailure } from '@densepure/backend';
import type { DrawRequest, Sampler, TimestepRule, VarianceKind } from '@densepure/core';
import type { EvaluationTally, MethodGroup } from '@densepure/voting';

/** One range of one request's draws, as a remote source takes it (the image flat, row-major). */
export interface RemoteDrawRequest {
  readonly image: readonly number[];
  /** The method's slug. */
  readonly method: string;
  readonly sigma: number;
  readonly seed: number;
  readonly index: number;
  readonly first: number;
  readonly count: number;
}

/** Why a range came back without counts; `taken`: whether a worker had started on it. */
export interface RemoteDrawsFailure {
  readonly kind: 'draws-unreachable' | 'draws-failed' | 'draws-stopped';
  readonly message: string;
  readonly taken: boolean;
}

export interface RemoteDraws {
  /** Most draws handed out as one job (a larger request is split; its ranges go out at once). */
  readonly drawsPerJob: number;
  /** What to do when no worker takes a request's draws (e.g. the command that starts one). */
  readonly noWorkerHint: string;
  count(request: RemoteDrawRequest, signal: AbortSignal): Promise<E.Either<RemoteDrawsFailure, { readonly counts: readonly number[]; readonly evaluations: EvaluationTally }>>;
  /** Workers' refusals of this server's models (their messages). */
  refusals(): readonly string[];
  close(): Promise<void>;
}

/** What a remote source is opened for: the server's models as loaded, the input and the caps. */
export interface RemoteDrawsContext {
  readonly shape: readonly [number, number, number];
  readonly numClasses: number;
  readonly batch: number;
  readonly variance?: VarianceKind;
  readonly timestepRule?: TimestepRule;
  readonly maxDraws: number;
  readonly maxVotes: number;
  readonly maxSigma: number;
  readonly denoiser: ModelMetadata | null;
  readonly classifier: ModelMetadata;
}

/** Why the remote source could not be opened (Redis unreachable, ...). */
export interface RemoteOpenError {
  readonly kind: 'remote-draws';
  readonly message: string;
}

export type OpenRemoteDraws = (context: RemoteDrawsContext) => TE.TaskEither<RemoteOpenError, RemoteDraws>;

/** What became of one request's remote draws: the first failure, and whether any worker took any of them. */
export interface RemoteState {
  failure: RemoteDrawsFailure | null;
  taken: boolean;
}

/** Where a request's draws were computed, for the metrics. */
export type DrawsWhere = 'local' | 'workers';

/** The group's samplers, each wrapped (the members' metadata stay the group's). */
export function withSamplers(group: MethodGroup, wrap: (sampler: Sampler<BackendError>) => Sampler<BackendError>): MethodGroup {
  return { ...group, samplers: (image, index, only, tally) => group.samplers(image, index, only, tally).map(wrap) };
}

/** A sampler that counts the draws it answered. */
export const countingSampler =
  (onDraws: (count: number) => void) =>
  (sampler: Sampler<BackendError>): Sampler<BackendError> =>
  async (request) => {
    const counted = await sampler(request);
    if (E.isRight(counted)) onDraws(request.count);
    return counted;
  };

export interface RemoteRequest {
  readonly image: Float32Array;
  readonly method: string;
  readonly sigma: number;
  readonly seed: number;
  readonly index: number;
}

/**
 * The request's group with its draws handed to `remote`: each sampler call is split into ranges of at most
 * `drawsPerJob`, sent at once, their counts and evaluations added up. The first failure stops the call's other
 * ranges and is kept in `state` (the sampler returns it as a model failure, which stops the certification).
 */
export function remoteGroup(group: MethodGroup, remote: RemoteDraws, request: RemoteRequest, signal: AbortSignal, state: RemoteState, onDraws: (count: number) => void): MethodGroup {
  const image = Array.from(request.image);
  const numClasses = group.members[0]!.numClasses;
  const sampler =
    (tally?: EvaluationTally): Sampler<BackendError> =>
    async (draws: DrawRequest) => {
      const call = new AbortController();
      const stop = (): void => call.abort();
      signal.addEventListener('abort', stop, { once: true });
      try {
        const ranges: { first: number; count: number }[] = [];
        for (let first = draws.firstDraw; first < draws.firstDraw + draws.count; first += remote.drawsPerJob) {
          ranges.push({ first, count: Math.min(remote.drawsPerJob, draws.firstDraw + draws.count - first) });
        }
        const counts = new Array<number>(numClasses).fill(0);
        const answers = await Promise.all(
          ranges.map(async (range) => {
            const answer = await remote.count({ image, method: request.method, sigma: request.sigma, seed: request.seed, index: request.index, ...range }, call.signal);
            if (E.isLeft(answer)) {
              state.taken ||= answer.left.taken;
              // A range stopped because another failed says nothing new: keep the first real reason.
              if (state.failure === null || state.failure.kind === 'draws-stopped') state.failure = answer.left;
              call.abort();
              return false;
            }
            state.taken = true;
            answer.right.counts.forEach((c, k) => (counts[k]! += c));
            if (tally !== undefined) {
              tally.denoiser += answer.right.evaluations.denoiser;
              tally.classifier += answer.right.evaluations.classifier;
            }
            return true;
          }),
        );
        if (!answers.every(Boolean)) return E.left(runtimeFailure(state.failure?.message ?? 'the draws did not come back'));
        onDraws(draws.count);
        return E.right(counts);
      } finally {
        signal.removeEventListener('abort', stop);
      }
    };
  return { ...group, samplers: (_image, _index, only = [0], tally) => only.map(() => sampler(tally)), counts: () => Promise.reject(new Error('a served request counts through its samplers')) };
}
