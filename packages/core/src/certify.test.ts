import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { certify, predict, type BatchProgress, type DrawRequest, type Sampler } from './certify.js';
import { DensePureMathError } from './errors.js';
import { right } from './test-util/either.js';
import { REF, expectClose, type Json } from './test-util/reference.js';

/** Labels for draws, laid out from per-class counts and deterministically interleaved. */
function layout(counts: readonly number[]): number[] {
  const labels: number[] = [];
  counts.forEach((c, label) => {
    for (let i = 0; i < c; i++) labels.push(label);
  });
  // deterministic shuffle (LCG) so batches see mixed labels
  let s = 12345;
  for (let i = labels.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [labels[i], labels[j]] = [labels[j]!, labels[i]!];
  }
  return labels;
}

/** A fake sampler: draw d has label labels[d]; records every request. */
function fakeSampler(labels: readonly number[], numClasses: number): { sampler: Sampler; requests: DrawRequest[] } {
  const requests: DrawRequest[] = [];
  const sampler: Sampler = async (req) => {
    requests.push(req);
    const counts = new Array<number>(numClasses).fill(0);
    for (let d = req.firstDraw; d < req.firstDraw + req.count; d++) counts[labels[d]!]! += 1;
    return E.right(counts);
  };
  return { sampler, requests };
}

async function rejects(p: Promise<unknown>, code: string, msg?: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DensePureMathError);
    expect((e as DensePureMathError).code).toBe(code);
    if (msg) expect((e as Error).message).toMatch(msg);
    return;
  }
  throw new Error('expected a rejection');
}

describe('certify (Cohen et al. CERTIFY) against the reference examples', () => {
  for (const r of REF.certify as Json[]) {
    it(`sigma=${r.sigma} n0=${r.n0} n=${r.n} alpha=${r.alpha}`, async () => {
      const labels = [...layout(r.selection), ...layout(r.estimation)];
      const results = [];
      for (const batchSize of [1000, 7, r.n0 + r.n]) {
        const { sampler } = fakeSampler(labels, 4);
        results.push(await right(certify(sampler, { sigma: r.sigma, n0: r.n0, n: r.n, alpha: r.alpha, batchSize, numClasses: 4 })));
      }
      const res = results[0]!;
      for (const other of results.slice(1)) expect(other).toEqual(res);
      expect(res.label).toBe(r.label);
      expect(res.nA).toBe(r.nA);
      expect(res.counts).toEqual({ selection: r.selection, estimation: r.estimation });
      expectClose(res.pA, r.pA, 1e-12, 0, 'pA');
      if (r.radius !== undefined) {
        expect(res.kind).toBe('certified');
        if (res.kind === 'certified') expectClose(res.radius, r.radius, 1e-12, 0, 'radius');
      } else {
        expect(res).toMatchObject({ kind: 'abstain', reason: 'pA<=0.5' });
      }
    });
  }
});

describe('certify mechanics', () => {
  it('asks selection draws [0, n0) then estimation draws [n0, n0 + n) in batches of at most batchSize', async () => {
    const labels = new Array<number>(25).fill(1);
    const { sampler, requests } = fakeSampler(labels, 3);
    const progress: BatchProgress[] = [];
    const res = await right(
      certify(sampler, {
        sigma: 0.25,
        n0: 5,
        n: 20,
        alpha: 0.001,
        batchSize: 8,
        numClasses: 3,
        onBatch: (p) => progress.push(p),
      }),
    );
    expect(requests).toEqual([
      { firstDraw: 0, count: 5 },
      { firstDraw: 5, count: 8 },
      { firstDraw: 13, count: 8 },
      { firstDraw: 21, count: 4 },
    ]);
    expect(progress.map((p) => [p.phase, p.doneInPhase, p.totalInPhase])).toEqual([
      ['selection', 5, 5],
      ['estimation', 8, 20],
      ['estimation', 16, 20],
      ['estimation', 20, 20],
    ]);
    // pA = 0.001^(1/20) = 0.7079..., radius = 0.25 * Phi^-1(pA)
    expect(res.kind).toBe('certified');
    if (res.kind === 'certified') {
      expectClose(res.pA, 0.001 ** (1 / 20), 1e-12);
      expect(res.radius).toBeGreaterThan(0);
    }
  });

  it('selection ties go to the smallest label', async () => {
    // selection: labels 2 and 1 tie with 3 votes each; estimation all 1 -> certified 1
    const labels = [2, 1, 2, 1, 2, 1, 0, ...new Array<number>(50).fill(1)];
    const { sampler } = fakeSampler(labels, 3);
    const res = await right(certify(sampler, { sigma: 0.5, n0: 7, n: 50, alpha: 0.001, batchSize: 10, numClasses: 3 }));
    expect(res.label).toBe(1);
    expect(res.kind).toBe('certified');
  });

  it('abstains when the selected class is not the estimation majority', async () => {
    const labels = [0, 0, 0, ...new Array<number>(100).fill(2)];
    const { sampler } = fakeSampler(labels, 3);
    const res = await right(certify(sampler, { sigma: 0.5, n0: 3, n: 100, alpha: 0.001, batchSize: 32, numClasses: 3 }));
    expect(res).toMatchObject({ kind: 'abstain', reason: 'pA<=0.5', label: 0, nA: 0, pA: 0 });
  });

  it('validates options with clear messages', async () => {
    const { sampler } = fakeSampler(new Array<number>(100).fill(0), 2);
    const ok = { sigma: 0.5, n0: 1, n: 1, alpha: 0.01, batchSize: 1, numClasses: 2 };
    const bad: [Partial<typeof ok>, RegExp][] = [
      [{ sigma: 0 }, /sigma/],
      [{ sigma: Number.NaN }, /sigma/],
      [{ n0: 0 }, /n0/],
      [{ n: 1.5 }, /n \(estimation draws\)/],
      [{ alpha: 0 }, /alpha/],
      [{ alpha: 1 }, /alpha/],
      [{ batchSize: 0 }, /batchSize/],
      [{ numClasses: 1 }, /numClasses/],
      [{ n0: 2 ** 32, n: 1 }, /2\^32/],
    ];
    for (const [b, msg] of bad) await rejects(certify(sampler, { ...ok, ...b }), 'invalid-argument', msg);
  });

  it("returns the sampler's first failure and asks for no more draws", async () => {
    const failure = { kind: 'model-failed', message: 'the model could not run' } as const;
    const requests: DrawRequest[] = [];
    const failAt = (firstDraw: number): Sampler<typeof failure> => async (req) => {
      requests.push(req);
      return req.firstDraw === firstDraw ? E.left(failure) : E.right([req.count, 0]);
    };
    const opts = { sigma: 0.5, n0: 4, n: 10, alpha: 0.01, batchSize: 4, numClasses: 2 };
    expect(await certify(failAt(0), opts)).toEqual(E.left(failure));
    expect(requests).toEqual([{ firstDraw: 0, count: 4 }]);
    requests.length = 0;
    expect(await certify(failAt(8), opts)).toEqual(E.left(failure));
    expect(requests.map((r) => r.firstDraw)).toEqual([0, 4, 8]);
    requests.length = 0;
    expect(await predict(failAt(4), { n: 12, alpha: 0.01, batchSize: 4, numClasses: 2 })).toEqual(E.left(failure));
    expect(requests.map((r) => r.firstDraw)).toEqual([0, 4]);
  });

  it('rejects malformed sampler output', async () => {
    const opts = { sigma: 0.5, n0: 2, n: 2, alpha: 0.01, batchSize: 2, numClasses: 3 };
    await rejects(certify(async () => E.right([1, 1]), opts), 'sampler-contract', /numClasses = 3/);
    await rejects(certify(async () => E.right([1, 0, 0]), opts), 'sampler-contract', /summing to 1 for 2 draws/);
    await rejects(certify(async () => E.right([1, 1.5, -0.5]), opts), 'sampler-contract', /non-negative integers/);
  });
});

describe('predict (Cohen et al. PREDICT)', () => {
  for (const r of REF.predict as Json[]) {
    it(`counts ${JSON.stringify(r.counts)} alpha=${r.alpha}`, async () => {
      const labels = layout(r.counts);
      const outs = [];
      for (const batchSize of [1, 33, r.n]) {
        const { sampler } = fakeSampler(labels, 4);
        outs.push(await right(predict(sampler, { n: r.n, alpha: r.alpha, batchSize, numClasses: 4 })));
      }
      for (const o of outs.slice(1)) expect(o).toEqual(outs[0]);
      const res = outs[0]!;
      expect(res.counts).toEqual(r.counts);
      expect(res.label).toBe(r.label);
      expect(res.kind).toBe(r.predicted ? 'predicted' : 'abstain');
      expectClose(res.pValue, r.pValue, 1e-12, 0, 'p-value');
    });
  }
  it('a tie of the top two abstains with p-value 1 and reports the smaller label', async () => {
    const { sampler } = fakeSampler([3, 1, 3, 1, 0], 4);
    const res = await right(predict(sampler, { n: 5, alpha: 0.05, batchSize: 2, numClasses: 4 }));
    expect(res).toMatchObject({ kind: 'abstain', reason: 'pValue>alpha', label: 1, pValue: 1 });
  });
  it('validates options', async () => {
    const { sampler } = fakeSampler([0], 2);
    await rejects(predict(sampler, { n: 0, alpha: 0.05, batchSize: 1, numClasses: 2 }), 'invalid-argument', /n \(draws\)/);
    await rejects(predict(sampler, { n: 1, alpha: 2, batchSize: 1, numClasses: 2 }), 'invalid-argument', /alpha/);
  });
});
