// onnxruntime agreement cases: Gemm, MatMul and Einsum.
import { type OpCase, f, one, x } from './cases.testutil.js';

export const MATMUL_CASES: readonly OpCase[] = [
  { name: 'Gemm transB, alpha, beta', inputs: [x([3, 5])], ...one('Gemm', { transB: 1, alpha: 0.5, beta: 2 }, ['x', 'w', 'b'], { initializers: [f('w', [4, 5], 16), f('b', [4], 17)], floatAttrs: ['alpha', 'beta'] }) },
  { name: 'Gemm transA', inputs: [x([5, 3])], ...one('Gemm', { transA: 1 }, ['x', 'w', 'b'], { initializers: [f('w', [5, 4], 18), f('b', [1, 4], 19)] }) },
  { name: 'MatMul batched x matrix', inputs: [x([2, 3, 4])], ...one('MatMul', {}, ['x', 'w'], { initializers: [f('w', [4, 5], 20)] }) },
  { name: 'MatMul broadcast batch', inputs: [x([2, 1, 3, 4])], ...one('MatMul', {}, ['x', 'w'], { initializers: [f('w', [3, 4, 2], 21)] }) },
  { name: 'Einsum bct,bcs->bts', inputs: [x([2, 3, 4]), x([2, 3, 5], 'z')], ...one('Einsum', { equation: 'bct,bcs->bts' }, ['x', 'z']) },
  { name: 'Einsum bts,bcs->bct', inputs: [x([2, 4, 5]), x([2, 3, 5], 'z')], ...one('Einsum', { equation: 'bts,bcs->bct' }, ['x', 'z']) },
];
