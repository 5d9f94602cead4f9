import { describeOrtCases } from './cases.testutil.js';
import { RESIZE_CASES } from './resize.cases.testutil.js';

describeOrtCases('resize ops agree with onnxruntime', RESIZE_CASES);
