// The shipped MNIST models on the tfjs backend's wasm device against onnxruntime and the PyTorch fixtures.
import { WASM_SIZES, describeZooAgreement } from './zoo.testutil.js';

describeZooAgreement('wasm', WASM_SIZES);
