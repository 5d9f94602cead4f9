import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { checkImageBatch, checkTimesteps, firstNonFinite } from './validate.js';

const meta = { inputShape: [1, 2, 2] as const };

describe('input validation', () => {
  it('accepts a well-formed batch', () => {
    expect(checkImageBatch('x', new Float32Array(8), 2, meta)).toEqual(E.right(2));
  });
  it('names the expected and actual shape', () => {
    const r = checkImageBatch('x', new Float32Array(12), 2, meta);
    if (E.isRight(r)) throw new Error('expected failure');
    expect(r.left.message).toContain('[2,1,2,2]');
    expect(r.left.message).toContain('[3,1,2,2]');
  });
  it('finds the first non-finite value', () => {
    expect(firstNonFinite([1, 2, Number.NaN, Infinity])).toBe(2);
    expect(firstNonFinite([1, 2])).toBe(-1);
  });
  it('checks timestep count and range', () => {
    expect(E.isRight(checkTimesteps([0, 999], 2, 1000))).toBe(true);
    expect(E.isLeft(checkTimesteps([0], 2, 1000))).toBe(true);
    expect(E.isLeft(checkTimesteps([0, 1000], 2, 1000))).toBe(true);
    expect(E.isLeft(checkTimesteps([0.5, 1], 2, 1000))).toBe(true);
  });
});
