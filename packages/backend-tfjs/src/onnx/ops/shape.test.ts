import { describeOrtCases } from './cases.testutil.js';
import { SHAPE_CASES } from './shape.cases.testutil.js';

describeOrtCases('shape ops agree with onnxruntime', SHAPE_CASES);
