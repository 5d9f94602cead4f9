// Every op family's onnxruntime agreement cases, by the test file that runs them (src/onnx/ops/<family>.test.ts).
import type { OpCase } from './cases.testutil.js';
import { CONV_POOL_CASES } from './conv-pool.cases.testutil.js';
import { ELEMENTWISE_CASES } from './elementwise.cases.testutil.js';
import { MATMUL_CASES } from './matmul.cases.testutil.js';
import { NORMALIZATION_CASES } from './normalization.cases.testutil.js';
import { REDUCE_CASES } from './reduce.cases.testutil.js';
import { RESIZE_CASES } from './resize.cases.testutil.js';
import { SHAPE_CASES } from './shape.cases.testutil.js';
import { TORCH_GROUP_NORM_CASES } from './torch-group-norm.cases.testutil.js';

export const OP_CASES: Readonly<Record<string, readonly OpCase[]>> = {
  elementwise: ELEMENTWISE_CASES,
  'conv-pool': CONV_POOL_CASES,
  normalization: NORMALIZATION_CASES,
  reduce: REDUCE_CASES,
  matmul: MATMUL_CASES,
  shape: SHAPE_CASES,
  resize: RESIZE_CASES,
  'torch-group-norm': TORCH_GROUP_NORM_CASES,
};
