import { describe, expect, it } from 'vitest';
import {
  STEP_TAG_SMOOTHING,
  gaussianFill,
  gaussianFillDraws,
  gaussianFillStreams,
  noiseAddress,
  philox4x32_10,
  type NoiseAddressFields,
  uniformFill,
} from './rng.js';
import { DensePureMathError } from './errors.js';

const hex = (a: Uint32Array): string[] => [...a].map((w) => w.toString(16).padStart(8, '0'));

describe('Philox4x32-10 known-answer vectors (Random123 kat_vectors)', () => {
  it('counter 0, key 0', () => {
    expect(hex(philox4x32_10([0, 0, 0, 0], [0, 0]))).toEqual(['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
  });
  it('counter and key all 0xffffffff', () => {
    const f = 0xffffffff;
    expect(hex(philox4x32_10([f, f, f, f], [f, f]))).toEqual(['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd']);
  });
  it('pi digits', () => {
    const out = philox4x32_10([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]);
    expect(hex(out)).toEqual(['d16cfe09', '94fdcceb', '5001e420', '24126ea1']);
  });
  it('rejects words outside uint32', () => {
    expect(() => philox4x32_10([0, 0, 0, 2 ** 32], [0, 0])).toThrow(DensePureMathError);
    expect(() => philox4x32_10([0, 0, 0], [0, 0])).toThrow(DensePureMathError);
  });
});

const base: Required<NoiseAddressFields> = { seed: 0x1234_5678_9abc, imageIndex: 17, drawIndex: 3, voteIndex: 2, step: 5 };

describe('noise addressing', () => {
  it('maps fields to key and counter words', () => {
    const a = noiseAddress(base);
    expect(a.key0).toBe(0x5678_9abc);
    expect(a.key1).toBe(0x1234);
    expect([a.counter0, a.counter1, a.counter2]).toEqual([17, 3, (2 << 16) | 5]);
    expect(noiseAddress({ ...base, step: 'smoothing' }).counter2).toBe((2 << 16) | STEP_TAG_SMOOTHING);
    expect(noiseAddress({ ...base, voteIndex: 0xffff, step: 'smoothing' }).counter2).toBe(0xffffffff);
    expect(noiseAddress({ seed: 1, imageIndex: 0, drawIndex: 0, step: 0 }).voteIndex).toBe(0);
  });
  it('element j is Box-Muller on the words of block floor(j / 4)', () => {
    const a = noiseAddress(base);
    const out = new Float64Array(8);
    gaussianFill(out, a);
    for (let block = 0; block < 2; block++) {
      const w = philox4x32_10([a.counter0, a.counter1, a.counter2, block], [a.key0, a.key1]);
      for (let pair = 0; pair < 2; pair++) {
        const r = Math.sqrt(-2 * Math.log((w[2 * pair]! + 0.5) / 2 ** 32));
        const th = (2 * Math.PI * w[2 * pair + 1]!) / 2 ** 32;
        expect(out[block * 4 + 2 * pair]).toBeCloseTo(r * Math.cos(th), 14);
        expect(out[block * 4 + 2 * pair + 1]).toBeCloseTo(r * Math.sin(th), 14);
      }
    }
  });
  it('throws on overflow of any field', () => {
    const bad: Record<string, unknown>[] = [
      { seed: 2 ** 53 },
      { seed: -1 },
      { seed: 1.5 },
      { imageIndex: 2 ** 32 },
      { drawIndex: -1 },
      { voteIndex: 0x10000 },
      { step: 0xffff },
      { step: -1 },
      { step: 'noise' },
    ];
    for (const b of bad) {
      let code = '';
      try {
        noiseAddress({ ...base, ...b } as never);
      } catch (e) {
        code = (e as DensePureMathError).code;
      }
      expect(code, JSON.stringify(b)).toBe('rng-address-overflow');
    }
    expect(() => gaussianFill(new Float32Array(8), noiseAddress(base), 4 * 2 ** 32 - 4)).toThrow(/2\^34/);
    gaussianFill(new Float32Array(4), noiseAddress(base), 4 * 2 ** 32 - 4); // the last block is fine
  });
});

describe('gaussianFill / uniformFill', () => {
  const a = noiseAddress(base);

  it('element j does not depend on the total length or the offset', () => {
    const whole = new Float32Array(1001);
    gaussianFill(whole, a);
    for (const [off, len] of [
      [0, 1],
      [1, 1],
      [3, 2],
      [5, 7],
      [998, 3],
      [0, 13],
      [2, 999],
    ] as const) {
      const part = new Float32Array(len);
      gaussianFill(part, a, off);
      expect([...part]).toEqual([...whole.subarray(off, off + len)]);
    }
    const u = new Float64Array(103);
    uniformFill(u, a);
    const up = new Float64Array(10);
    uniformFill(up, a, 91);
    expect([...up]).toEqual([...u.subarray(91, 101)]);
  });

  it('Float32Array output is the float64 value rounded', () => {
    const f32 = new Float32Array(64);
    const f64 = new Float64Array(64);
    gaussianFill(f32, a);
    gaussianFill(f64, a);
    for (let i = 0; i < 64; i++) expect(f32[i]).toBe(Math.fround(f64[i]!));
  });

  it('a batch of 8 streams filled at once equals 8 single fills, whatever the batch split', () => {
    const per = 37;
    const addrs = Array.from({ length: 8 }, (_, d) => noiseAddress({ ...base, drawIndex: 100 + d, step: 'smoothing' }));
    const batch = new Float32Array(8 * per);
    gaussianFillStreams(batch, addrs, per);
    for (let d = 0; d < 8; d++) {
      const one = new Float32Array(per);
      gaussianFill(one, addrs[d]!);
      expect([...batch.subarray(d * per, (d + 1) * per)]).toEqual([...one]);
    }
    const viaDraws = new Float32Array(8 * per);
    gaussianFillDraws(viaDraws.subarray(0, 5 * per), addrs[0]!, 100, 5, per);
    gaussianFillDraws(viaDraws.subarray(5 * per), addrs[0]!, 105, 3, per);
    expect([...viaDraws]).toEqual([...batch]);
    expect(() => gaussianFillStreams(new Float32Array(10), addrs, per)).toThrow(DensePureMathError);
  });

  it('different address fields give different streams', () => {
    const first = (f: Partial<NoiseAddressFields>): number => {
      const o = new Float64Array(1);
      gaussianFill(o, noiseAddress({ ...base, ...f }));
      return o[0]!;
    };
    const vals = [
      first({}),
      first({ seed: base.seed + 1 }),
      first({ seed: base.seed + 2 ** 32 }),
      first({ imageIndex: 18 }),
      first({ drawIndex: 4 }),
      first({ voteIndex: 3 }),
      first({ step: 6 }),
      first({ step: 'smoothing' }),
    ];
    expect(new Set(vals).size).toBe(vals.length);
  });

  it('moments look standard normal / uniform (200k draws)', () => {
    const n = 200_000;
    const g = new Float64Array(n);
    gaussianFill(g, a);
    let m = 0;
    let v = 0;
    let maxAbs = 0;
    for (const x of g) {
      m += x;
      v += x * x;
      maxAbs = Math.max(maxAbs, Math.abs(x));
    }
    m /= n;
    v = v / n - m * m;
    expect(Math.abs(m)).toBeLessThan(0.01); // sd of the mean is 0.0022
    expect(Math.abs(v - 1)).toBeLessThan(0.015); // sd of the variance is 0.0032
    expect(maxAbs).toBeLessThan(6.77);
    const u = new Float32Array(n);
    uniformFill(u, noiseAddress({ ...base, step: 7 }));
    let mu = 0;
    let outside = 0;
    for (const x of u) {
      if (!(x >= 0 && x < 1)) outside++;
      mu += x;
    }
    expect(outside).toBe(0);
    expect(Math.abs(mu / n - 0.5)).toBeLessThan(0.005);
  });
});
