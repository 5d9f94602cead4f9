import { describeOrtCases } from './cases.testutil.js';
import { ELEMENTWISE_CASES } from './elementwise.cases.testutil.js';

describeOrtCases('elementwise ops agree with onnxruntime', ELEMENTWISE_CASES);
