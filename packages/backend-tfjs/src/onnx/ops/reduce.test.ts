import { describeOrtCases } from './cases.testutil.js';
import { REDUCE_CASES } from './reduce.cases.testutil.js';

describeOrtCases('reduce ops agree with onnxruntime', REDUCE_CASES);
