import { either as E } from 'fp-ts';
import type { BackendError } from '@densepure/backend';
import type { EvaluationTally, MethodGroup } from '@densepure/voting';

/** Where a count runs: the group's `members` (indices into it) on one image, `chunk` draws per sampler call. */
export interface CountSite {
  readonly group: MethodGroup;
  readonly image: Float32Array;
  readonly idx: number;
  readonly chunk: number;
  readonly tally: EvaluationTally;
}

/**
 * Adds each member's vote counts over draws [first, first + draws) into `into[i]` (member `members[i]`), the
 * members' samplers called side by side in chunks so shared draws are evaluated once. Stops at a model failure.
 */
export async function countInto(site: CountSite, members: readonly number[], first: number, draws: number, into: number[][]): Promise<E.Either<BackendError, void>> {
  for (let done = 0; done < draws; done += site.chunk) {
    const request = { firstDraw: first + done, count: Math.min(site.chunk, draws - done) };
    const got = E.sequenceArray(await Promise.all(site.group.samplers(site.image, site.idx, members, site.tally).map((s) => s(request))));
    if (E.isLeft(got)) return got;
    got.right.forEach((c, i) => {
      for (let k = 0; k < c.length; k++) into[i]![k]! += c[k]!;
    });
  }
  return E.right(undefined);
}
