import { describeOrtCases } from './cases.testutil.js';
import { NORMALIZATION_CASES } from './normalization.cases.testutil.js';

describeOrtCases('normalization ops agree with onnxruntime', NORMALIZATION_CASES);
