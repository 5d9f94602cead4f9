// The browser backend under the same contract suite as the node one. onnxruntime-web runs its wasm provider in
// node as well, so the suite (tiny models built in code, the shipped zoo) runs here without a browser; the
// page's chromium test (apps/web) runs it in a real one.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeBackendConformance } from '@densepure/backend/conformance';
import { configureOnnxWeb } from './web.js';

configureOnnxWeb({});
const zoo = fileURLToPath(new URL('../../zoo-mnist/models/', import.meta.url));
const shipped = existsSync(`${zoo}denoiser.json`) ? [{ label: 'zoo-mnist', denoiser: `${zoo}denoiser.json`, classifier: `${zoo}classifier.json` }] : [];

describeBackendConformance('onnx-web', { models: shipped });
