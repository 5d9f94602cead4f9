import { either as E } from 'fp-ts';
import type { DrawRequest, Sampler } from '@densepure/core';

/**
 * Samplers for `members` side by side on one image: the first request for a draw range computes every member's
 * counts at once (`compute`), and the other members' requests for the same range take theirs from it (or the
 * failure that stopped it). The entry is dropped once every member has asked, so a run's memory does not grow
 * with its draws.
 */
export function sharedRequests<Err>(members: number, compute: (draws: DrawRequest) => Promise<E.Either<Err, Int32Array[]>>): Sampler<Err>[] {
  const pending = new Map<string, { result: Promise<E.Either<Err, Int32Array[]>>; left: number }>();
  return Array.from({ length: members }, (_, i) => async (draws: DrawRequest) => {
    const key = `${draws.firstDraw}:${draws.count}`;
    let entry = pending.get(key);
    if (entry === undefined) {
      entry = { result: compute(draws), left: members };
      pending.set(key, entry);
    }
    entry.left -= 1;
    if (entry.left === 0) pending.delete(key);
    return E.map((all: Int32Array[]) => all[i]!)(await entry.result);
  });
}
