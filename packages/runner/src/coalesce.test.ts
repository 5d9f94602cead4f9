// Merged model calls: concurrent callers' rows go out together (up to the batch size, at most `concurrency` calls
// at once), and each caller gets exactly its own rows back; a failing call fails each of its callers.
import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import type { Classifier, Denoiser, DenoiserMetadata } from '@densepure/backend';
import { coalescedClassifier, coalescedDenoiser } from './coalesce.js';

/** A denoiser of 2-pixel images whose eps is x * 10 + t, recording the rows of each call. */
function fakeDenoiser(calls: number[], fail = false): Denoiser {
  return {
    metadata: { inputShape: [1, 1, 2] } as unknown as DenoiserMetadata,
    run: (x, t) => async () => {
      calls.push(x.length / 2);
      await new Promise((r) => setTimeout(r, 1));
      if (fail) return E.left({ kind: 'runtime-failure', message: 'boom' });
      return E.right({ eps: x.map((v, i) => v * 10 + t[Math.floor(i / 2)]!), v: null });
    },
    dispose: async () => undefined,
  };
}

describe('coalesced models', () => {
  it('merges concurrent calls into batches and hands every caller its own rows', async () => {
    const calls: number[] = [];
    const d = coalescedDenoiser(fakeDenoiser(calls), { batchSize: 5, concurrency: 1 });
    const ask = (value: number, rows: number, t: number) => d.run(new Float32Array(rows * 2).fill(value), new Int32Array(rows).fill(t))();
    const out = await Promise.all([ask(1, 2, 7), ask(2, 3, 8), ask(3, 4, 9), ask(4, 1, 1)]);
    // 2 + 3 fill one call; 4 + 1 the next.
    expect(calls).toEqual([5, 5]);
    expect(out.map((o) => (E.isRight(o) ? Array.from(o.right.eps) : null))).toEqual([
      [17, 17, 17, 17],
      Array(6).fill(28),
      Array(8).fill(39),
      [41, 41],
    ]);
  });

  it('keeps `concurrency` calls in flight', async () => {
    const calls: number[] = [];
    let inFlight = 0;
    let most = 0;
    const base = fakeDenoiser(calls);
    const counting: Denoiser = {
      ...base,
      run: (x, t) => async () => {
        most = Math.max(most, ++inFlight);
        const r = await base.run(x, t)();
        inFlight -= 1;
        return r;
      },
    };
    const d = coalescedDenoiser(counting, { batchSize: 2, concurrency: 2 });
    await Promise.all(Array.from({ length: 6 }, () => d.run(new Float32Array(2), [0])()));
    expect(calls).toEqual([2, 2, 2]);
    expect(most).toBe(2);
  });

  it('fails every caller of a failed call', async () => {
    const d = coalescedDenoiser(fakeDenoiser([], true), { batchSize: 10, concurrency: 1 });
    const out = await Promise.all([d.run(new Float32Array(2), [0])(), d.run(new Float32Array(4), [0, 0])()]);
    expect(out.every((o) => E.isLeft(o) && o.left.message === 'boom')).toBe(true);
  });

  it('merges classifier calls too', async () => {
    const calls: number[] = [];
    const base: Classifier = {
      metadata: {} as Classifier['metadata'],
      run: (x, batch) => async () => {
        calls.push(batch);
        return E.right(x.map((v) => v + 1));
      },
      dispose: async () => undefined,
    };
    const c = coalescedClassifier(base, { batchSize: 100, concurrency: 1 });
    const out = await Promise.all([c.run(Float32Array.of(1, 2), 1)(), c.run(Float32Array.of(3, 4, 5, 6), 2)()]);
    expect(calls).toEqual([3]);
    expect(out.map((o) => (E.isRight(o) ? Array.from(o.right) : null))).toEqual([[2, 3], [4, 5, 6, 7]]);
  });
});
