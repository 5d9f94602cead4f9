// One manifest-versus-graph rule, used by every backend.
import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { checkSignature } from './signature.js';

const spec = [{ name: 'x', dtype: 'float32' as const, shape: ['B' as const, 1, 4, 4] }];
const check = (shape: readonly (number | string | null)[] | undefined, dtype = 'float32', options = {}) =>
  checkSignature('m.onnx', 'input', spec, [{ name: 'x', dtype, ...(shape === undefined ? {} : { shape }) }], options);
const message = (r: E.Either<{ message: string }, void>): string => (E.isLeft(r) ? r.left.message : 'accepted');

describe('checkSignature (one rule for every backend)', () => {
  it('dims that are not positive numbers are dynamic: symbolic, unknown, -1 or null', () => {
    for (const dyn of ['batch', '?', -1, 0, null]) expect(message(check([dyn, 1, 4, 4]))).toBe('accepted');
    expect(message(check([-1, -1, -1, -1]))).toBe('accepted');
    expect(message(check(undefined))).toBe('accepted');
  });
  it('a fixed graph dim must equal the manifest dim', () => {
    expect(message(check(['B', 1, 4, 5]))).toContain("input 'x' has shape [B,1,4,5], the manifest says [B,1,4,4]");
    expect(message(check(['B', 1, 4]))).toContain('the manifest says [B,1,4,4]');
  });
  it("a graph that fixes the batch size cannot take the manifest's batch 'B'", () => {
    expect(message(check([1, 1, 4, 4]))).toContain('batch');
  });
  it('dtype and name', () => {
    expect(message(check(['B', 1, 4, 4], 'int64'))).toContain('dtype int64');
    expect(message(checkSignature('m.onnx', 'output', spec, [{ name: 'y' }]))).toContain("output 'x' is missing; the graph has outputs 'y'");
  });
  it('a backend may declare int32 as holding int64 (tfjs)', () => {
    const t = [{ name: 't', dtype: 'int64' as const, shape: ['B' as const] }];
    expect(E.isLeft(checkSignature('m', 'input', t, [{ name: 't', dtype: 'int32' }]))).toBe(true);
    expect(E.isRight(checkSignature('m', 'input', t, [{ name: 't', dtype: 'int32' }], { int64AsInt32: true }))).toBe(true);
  });
});
