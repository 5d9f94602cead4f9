// Seeded simulation helpers for the sequential CERTIFY tests: a uniform PRNG, exact binomial counts, and
// samplers over Bernoulli vote streams (counts-level, or addressed by draw index).
import { either as E } from 'fp-ts';
import type { Sampler } from '../certify.js';

/** mulberry32 pairs -> uniforms in (0, 1] with 53 random bits. */
export function seededUniform(seed: number): () => number {
  let a = seed >>> 0;
  const u32 = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return () => ((u32() >>> 5) * 67108864 + (u32() >>> 6) + 1) / 9007199254740992;
}

/**
 * Binomial(n, p) by geometric jumps between occurrences of the rarer outcome: exact (the jumps of a
 * Bernoulli process are i.i.d. geometric), O(n min(p, 1 - p) + 1) uniforms.
 */
export function binomial(uniform: () => number, n: number, p: number): number {
  if (p <= 0) return 0;
  if (p >= 1) return n;
  const q = Math.min(p, 1 - p);
  const lq = Math.log1p(-q);
  let pos = 0;
  let rare = 0;
  for (;;) {
    pos += Math.max(1, Math.ceil(Math.log(uniform()) / lq));
    if (pos > n) break;
    rare++;
  }
  return p <= 0.5 ? rare : n - rare;
}

/**
 * Two-class counts-level sampler: every request's class-0 count is a fresh Binomial(count, p) from one
 * seeded stream (so results depend on the order of requests, not on draw indices). With `selectionDraws`,
 * draws below it all vote class 0 (the selection phase picks class 0 for sure).
 */
export function binomialSampler(p: number, seed: number, selectionDraws = 0): Sampler {
  const uniform = seededUniform(seed);
  return ({ firstDraw, count }) => {
    if (firstDraw + count <= selectionDraws) return Promise.resolve(E.right([count, 0]));
    const k = binomial(uniform, count, p);
    return Promise.resolve(E.right([k, count - k]));
  };
}

/** Draw i votes class 0 iff hash(seed, i) < p: counts depend only on the draw indices, never on batching. */
export function addressedSampler(p: number, seed: number): Sampler {
  return ({ firstDraw, count }) => {
    let k = 0;
    for (let i = firstDraw; i < firstDraw + count; i++) if (hashUniform(seed, i) < p) k++;
    return Promise.resolve(E.right([k, count - k]));
  };
}

export function hashUniform(seed: number, i: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 0x632be5ab, 0xc2b2ae35);
  const mix = (x: number): number => {
    x ^= x >>> 16;
    x = Math.imul(x, 0x7feb352d);
    x ^= x >>> 15;
    x = Math.imul(x, 0x846ca68b);
    return (x ^ (x >>> 16)) >>> 0;
  };
  h = mix(h);
  const lo = mix(h ^ 0x27d4eb2f);
  return ((h >>> 5) * 67108864 + (lo >>> 6)) / 9007199254740992;
}

/**
 * Counts-level sampler over `probs.length` classes: every request's counts are a fresh Multinomial(count, probs)
 * from one seeded stream (class by class, each a binomial of what is left).
 */
export function multinomialSampler(probs: readonly number[], seed: number): Sampler {
  const uniform = seededUniform(seed);
  return ({ count }) => {
    const counts = new Array<number>(probs.length).fill(0);
    let left = count;
    let mass = 1;
    for (let c = 0; c < probs.length - 1 && left > 0; c++) {
      const k = binomial(uniform, left, Math.min(1, probs[c]! / mass));
      counts[c] = k;
      left -= k;
      mass -= probs[c]!;
    }
    counts[probs.length - 1] = left;
    return Promise.resolve(E.right(counts));
  };
}
