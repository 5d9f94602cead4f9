import { describeOrtCases } from './cases.testutil.js';
import { MATMUL_CASES } from './matmul.cases.testutil.js';

describeOrtCases('matmul ops agree with onnxruntime', MATMUL_CASES);
