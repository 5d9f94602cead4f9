import { DensePureMathError } from './errors.js';

/**
 * Counter-based random numbers: Philox4x32-10 (Salmon, Moraes, Dror & Shaw, SC'11; Random123).
 *
 * Addressing scheme. A stream of numbers is identified by a {@link NoiseAddress}
 * (seed, imageIndex, drawIndex, voteIndex, step) and element j of the stream is a pure function of
 * (address, j), independent of how many elements are generated, in what order, or in what batches:
 *
 *   key     = (seed mod 2^32, floor(seed / 2^32))                     seed: integer in [0, 2^53)
 *   counter = (imageIndex, drawIndex, (voteIndex << 16) | stepTag, block)
 *             imageIndex, drawIndex < 2^32; voteIndex < 2^16; stepTag < 2^16
 *   stepTag = reverse-chain step index s (0 = first reverse step, i.e. the noise added while going from
 *             x_{t*} to the next state) in [0, 0xfffe], or 0xffff = {@link STEP_TAG_SMOOTHING} for noise added
 *             to an image in pixel space: the randomized-smoothing noise itself at voteIndex 0, and local
 *             smoothing's copy j of a purified image (DiffSmooth) at voteIndex j + 1.
 *   block   = floor(j / 4): each Philox call yields 4 uint32 words; element j uses word j mod 4 of block
 *             floor(j / 4), so a stream has at most 2^34 elements.
 *
 * Every field is bounds-checked; overflow throws `rng-address-overflow` (never wraps silently).
 *
 * Gaussians: Box-Muller on the word pairs (0, 1) and (2, 3) of each block, in float64:
 *   u1 = (w_a + 0.5) / 2^32 in (0, 1), u2 = w_b / 2^32, r = sqrt(-2 ln u1),
 *   z_a = r cos(2 pi u2), z_b = r sin(2 pi u2), rounded to float32 when written into a Float32Array.
 * |z| is at most ~6.76 (the 32-bit u1 floor), a tail of probability ~1e-11 that is cut off.
 * Uniforms ({@link uniformFill}): (w >>> 8) / 2^24 in [0, 1), exact in float32. Gaussians and uniforms of
 * the same address use the same words, so give them different addresses (e.g. different step tags).
 */

/** Reserved step tag: the smoothing noise added to the input (not a reverse-chain step). */
export const STEP_TAG_SMOOTHING = 0xffff;
/** Largest reverse-chain step index usable as a step tag. */
export const MAX_REVERSE_STEP_TAG = 0xfffe;

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

const M0L = M0 & 0xffff;
const M0H = M0 >>> 16;
const M1L = M1 & 0xffff;
const M1H = M1 >>> 16;

/** Philox4x32-10 into `out[0..3]` (uint32 words). The 32x32 -> 64-bit products are done on 16-bit limbs. */
function philoxInto(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number, out: Uint32Array): void {
  for (let r = 0; r < 10; r++) {
    if (r > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    // hi0:lo0 = M0 * c0
    let bl = c0 & 0xffff;
    let bh = c0 >>> 16;
    let ll = M0L * bl;
    let lh = M0L * bh;
    let hl = M0H * bl;
    let mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
    const hi0 = (M0H * bh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
    const lo0 = Math.imul(M0, c0) >>> 0;
    // hi1:lo1 = M1 * c2
    bl = c2 & 0xffff;
    bh = c2 >>> 16;
    ll = M1L * bl;
    lh = M1L * bh;
    hl = M1H * bl;
    mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
    const hi1 = (M1H * bh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

function assertU32(name: string, x: number): void {
  if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) {
    throw new DensePureMathError('rng-address-overflow', `${name} must be an integer in [0, 2^32), got ${String(x)}`);
  }
}

/**
 * The raw Philox4x32-10 block function: 4 counter words and 2 key words (uint32 each) -> 4 uint32 words.
 * Matches Random123's `philox4x32_R(10, ctr, key)` (checked against its known-answer vectors).
 */
export function philox4x32_10(counter: ArrayLike<number>, key: ArrayLike<number>): Uint32Array {
  if (counter.length !== 4 || key.length !== 2) {
    throw new DensePureMathError('invalid-argument', 'philox4x32_10 needs 4 counter words and 2 key words');
  }
  for (let i = 0; i < 4; i++) assertU32(`counter[${i}]`, counter[i]!);
  for (let i = 0; i < 2; i++) assertU32(`key[${i}]`, key[i]!);
  const out = new Uint32Array(4);
  philoxInto(counter[0]!, counter[1]!, counter[2]!, counter[3]!, key[0]!, key[1]!, out);
  return out;
}

/** Fields identifying one noise stream (see the addressing scheme above). */
export interface NoiseAddressFields {
  /** Run seed: integer in [0, 2^53). */
  readonly seed: number;
  /** Image (dataset example) index, < 2^32. */
  readonly imageIndex: number;
  /** Monte-Carlo draw index (absolute, as in DrawRequest), < 2^32. */
  readonly drawIndex: number;
  /** Reverse-chain sample index within a draw (DensePure's K votes), < 2^16. Default 0. */
  readonly voteIndex?: number;
  /** Reverse-chain step index (0..0xfffe) or 'smoothing' for the smoothing noise. */
  readonly step: number | 'smoothing';
}

/** A validated stream address: the fields plus the Philox key and first three counter words. */
export interface NoiseAddress {
  readonly seed: number;
  readonly imageIndex: number;
  readonly drawIndex: number;
  readonly voteIndex: number;
  readonly step: number | 'smoothing';
  readonly key0: number;
  readonly key1: number;
  readonly counter0: number;
  readonly counter1: number;
  readonly counter2: number;
}

/** Validates the fields and builds a {@link NoiseAddress}; throws `rng-address-overflow` on any field overflow. */
export function noiseAddress(fields: NoiseAddressFields): NoiseAddress {
  const { seed, imageIndex, drawIndex, step } = fields;
  const voteIndex = fields.voteIndex ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new DensePureMathError('rng-address-overflow', `seed must be an integer in [0, 2^53), got ${String(seed)}`);
  }
  assertU32('imageIndex', imageIndex);
  assertU32('drawIndex', drawIndex);
  if (!Number.isInteger(voteIndex) || voteIndex < 0 || voteIndex > 0xffff) {
    throw new DensePureMathError('rng-address-overflow', `voteIndex must be an integer in [0, 65535], got ${String(voteIndex)}`);
  }
  let tag: number;
  if (step === 'smoothing') tag = STEP_TAG_SMOOTHING;
  else if (Number.isInteger(step) && step >= 0 && step <= MAX_REVERSE_STEP_TAG) tag = step;
  else {
    throw new DensePureMathError(
      'rng-address-overflow',
      `step must be 'smoothing' or an integer in [0, ${MAX_REVERSE_STEP_TAG}], got ${String(step)}`,
    );
  }
  return {
    seed,
    imageIndex,
    drawIndex,
    voteIndex,
    step,
    key0: seed % 0x100000000,
    key1: Math.floor(seed / 0x100000000),
    counter0: imageIndex,
    counter1: drawIndex,
    counter2: ((voteIndex << 16) | tag) >>> 0,
  };
}

/** Same address with another draw index (validated). */
export function withDrawIndex(a: NoiseAddress, drawIndex: number): NoiseAddress {
  return noiseAddress({ seed: a.seed, imageIndex: a.imageIndex, drawIndex, voteIndex: a.voteIndex, step: a.step });
}

const MAX_ELEMENTS = 4 * 2 ** 32;
const TWO_M32 = 2 ** -32;
const TWO_M24 = 2 ** -24;
const TWO_PI = 2 * Math.PI;

function assertRange(offset: number, length: number): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + length > MAX_ELEMENTS) {
    throw new DensePureMathError(
      'rng-address-overflow',
      `stream elements [${String(offset)}, ${String(offset + length)}) are outside [0, 2^34): a stream holds at most 2^34 numbers`,
    );
  }
}

/**
 * Writes elements offset .. offset + out.length - 1 of the standard-normal stream at `address` into
 * `out` (see the Box-Muller definition above). Element j does not depend on out.length or offset.
 */
export function gaussianFill(out: Float32Array | Float64Array, address: NoiseAddress, offset = 0): void {
  const len = out.length;
  assertRange(offset, len);
  const words = new Uint32Array(4);
  const { key0, key1, counter0, counter1, counter2 } = address;
  const end = offset + len;
  let j = offset;
  // Partial first block (element by element), then whole blocks, then a partial last block.
  const partial = (stop: number): void => {
    const block = Math.floor(j / 4);
    philoxInto(counter0, counter1, counter2, block, key0, key1, words);
    const base = block * 4;
    for (let pair = 0; pair < 2; pair++) {
      const e0 = base + 2 * pair;
      if (e0 + 1 < j || e0 >= stop) continue;
      const r = Math.sqrt(-2 * Math.log((words[2 * pair]! + 0.5) * TWO_M32));
      const th = TWO_PI * (words[2 * pair + 1]! * TWO_M32);
      if (e0 >= j) out[e0 - offset] = r * Math.cos(th);
      if (e0 + 1 >= j && e0 + 1 < stop) out[e0 + 1 - offset] = r * Math.sin(th);
    }
    j = Math.min(base + 4, stop);
  };
  if (j % 4 !== 0 && j < end) partial(Math.min(end, j + 4 - (j % 4)));
  const fullEnd = end - (end % 4);
  for (let block = j / 4; j < fullEnd; block++, j += 4) {
    philoxInto(counter0, counter1, counter2, block, key0, key1, words);
    const o = j - offset;
    const r0 = Math.sqrt(-2 * Math.log((words[0]! + 0.5) * TWO_M32));
    const t0 = TWO_PI * (words[1]! * TWO_M32);
    const r1 = Math.sqrt(-2 * Math.log((words[2]! + 0.5) * TWO_M32));
    const t1 = TWO_PI * (words[3]! * TWO_M32);
    out[o] = r0 * Math.cos(t0);
    out[o + 1] = r0 * Math.sin(t0);
    out[o + 2] = r1 * Math.cos(t1);
    out[o + 3] = r1 * Math.sin(t1);
  }
  if (j < end) partial(end);
}

/**
 * Writes elements offset .. offset + out.length - 1 of the uniform [0, 1) stream at `address`:
 * (word >>> 8) / 2^24 (24-bit resolution, exact in float32).
 */
export function uniformFill(out: Float32Array | Float64Array, address: NoiseAddress, offset = 0): void {
  const len = out.length;
  assertRange(offset, len);
  const words = new Uint32Array(4);
  const { key0, key1, counter0, counter1, counter2 } = address;
  const end = offset + len;
  let j = offset;
  while (j < end) {
    const block = Math.floor(j / 4);
    philoxInto(counter0, counter1, counter2, block, key0, key1, words);
    const base = block * 4;
    const stop = Math.min(base + 4, end);
    for (let e = j; e < stop; e++) out[e - offset] = (words[e - base]! >>> 8) * TWO_M24;
    j = stop;
  }
}

/**
 * Fills a batch: stream i (addresses[i]) goes to out[i * perStream .. (i + 1) * perStream), elements
 * offset .. offset + perStream - 1. Identical to calling {@link gaussianFill} once per stream.
 */
export function gaussianFillStreams(
  out: Float32Array | Float64Array,
  addresses: readonly NoiseAddress[],
  perStream: number,
  offset = 0,
): void {
  if (!Number.isInteger(perStream) || perStream < 0 || out.length !== addresses.length * perStream) {
    throw new DensePureMathError(
      'invalid-argument',
      `out has ${out.length} elements but ${addresses.length} streams x perStream ${String(perStream)} were asked for`,
    );
  }
  for (let i = 0; i < addresses.length; i++) {
    gaussianFill(out.subarray(i * perStream, (i + 1) * perStream), addresses[i]!, offset);
  }
}

/**
 * Convenience for a DrawRequest: fills `count` consecutive draws firstDraw .. firstDraw + count - 1 of
 * `base` (its drawIndex is replaced), perDraw numbers each, draw-major, into `out`.
 */
export function gaussianFillDraws(
  out: Float32Array | Float64Array,
  base: NoiseAddress,
  firstDraw: number,
  count: number,
  perDraw: number,
): void {
  const addrs: NoiseAddress[] = [];
  for (let d = 0; d < count; d++) addrs.push(withDrawIndex(base, firstDraw + d));
  gaussianFillStreams(out, addrs, perDraw);
}
