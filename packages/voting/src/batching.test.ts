import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { chunks, inBatches } from './batching.js';

describe('inBatches', () => {
  it('cuts rows into batches of at most batchSize', () => {
    expect(chunks(7, 3)).toEqual([
      [0, 3],
      [3, 3],
      [6, 1],
    ]);
    expect(chunks(3, 100)).toEqual([[0, 3]]);
  });

  it('concatenates every column in row order, keeps absent columns absent, and never runs more than concurrency calls', async () => {
    let inFlight = 0;
    let most = 0;
    const calls: [number, number][] = [];
    const got = await inBatches(10, { batchSize: 3, concurrency: 2 }, (first, count) => async () => {
      calls.push([first, count]);
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, (10 - first) % 4)); // out-of-order completion
      inFlight--;
      const rows = Array.from({ length: count }, (_, i) => first + i);
      return E.right([Float32Array.from(rows.flatMap((r) => [r, -r])), Int32Array.from(rows), null] as const);
    })();
    if (E.isLeft(got)) throw new Error('expected every call to succeed');
    const [a, b, none] = got.right;
    expect(calls.map(([f]) => f).sort((x, y) => x - y)).toEqual([0, 3, 6, 9]);
    expect(most).toBe(2);
    expect(a).toBeInstanceOf(Float32Array);
    expect(Array.from(a)).toEqual(Array.from({ length: 10 }, (_, r) => [r, -r]).flat());
    expect(b).toBeInstanceOf(Int32Array);
    expect(Array.from(b)).toEqual(Array.from({ length: 10 }, (_, r) => r));
    expect(none).toBeNull();
  });

  it('one batch: the model output itself, not a copy', async () => {
    const out = new Float32Array(4);
    const got = await inBatches(4, { batchSize: 8, concurrency: 1 }, () => async () => E.right([out] as const))();
    expect(E.isRight(got) && got.right[0]).toBe(out);
  });

  it('returns the first failure, after the calls in flight, and starts no call after it', async () => {
    const started: number[] = [];
    let inFlight = 0;
    const got = await inBatches(12, { batchSize: 2, concurrency: 2 }, (first) => async () => {
      started.push(first);
      inFlight++;
      await new Promise((resolve) => setTimeout(resolve, first === 2 ? 1 : 5));
      inFlight--;
      return first === 2 ? E.left(`call at ${first} failed`) : E.right([new Float32Array(2)] as const);
    })();
    expect(got).toEqual(E.left('call at 2 failed'));
    expect(inFlight).toBe(0);
    // Rows 0 and 2 start together; row 2 fails first, so only the call at 0 was still running and nothing else starts.
    expect(started).toEqual([0, 2]);
  });
});
