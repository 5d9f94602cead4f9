import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { describeBackendConformance } from '@densepure/backend/conformance';
import './index.js';

const zoo = fileURLToPath(new URL('../../zoo-mnist/models/', import.meta.url));
const shipped = existsSync(`${zoo}denoiser.json`)
  ? [{ label: 'zoo-mnist', denoiser: `${zoo}denoiser.json`, classifier: `${zoo}classifier.json` }]
  : [];

describeBackendConformance('onnx', { models: shipped });
describeBackendConformance('onnx', { loadOptions: { workers: 2, threads: 1 } });
