import type { DrawRequest, Sampler } from '@densepure/core';

/**
 * Samplers for `members` side by side on one image: the first request for a draw range computes every member's
 * counts at once (`compute`), and the other members' requests for the same range take theirs from it. The entry
 * is dropped once every member has asked, so a run's memory does not grow with its draws.
 */
export function sharedRequests(members: number, compute: (draws: DrawRequest) => Promise<Int32Array[]>): Sampler[] {
  const pending = new Map<string, { result: Promise<Int32Array[]>; left: number }>();
  return Array.from({ length: members }, (_, i) => async (draws: DrawRequest) => {
    const key = `${draws.firstDraw}:${draws.count}`;
    let entry = pending.get(key);
    if (entry === undefined) {
      entry = { result: compute(draws), left: members };
      pending.set(key, entry);
    }
    entry.left -= 1;
    if (entry.left === 0) pending.delete(key);
    return (await entry.result)[i]!;
  });
}
