import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { describeBackendConformance } from '@densepure/backend/conformance';
import './index.js';

const zoo = fileURLToPath(new URL('../../zoo-mnist/models/', import.meta.url));
const shipped = existsSync(`${zoo}denoiser.json`) && existsSync(`${zoo}classifier.json`)
  ? [{ label: 'zoo-mnist', denoiser: `${zoo}denoiser.json`, classifier: `${zoo}classifier.json` }]
  : [];

// The default pick here is wasm (no native tfjs installed); the pure-JS cpu runtime must conform too.
describeBackendConformance('tfjs', { models: shipped });
describeBackendConformance('tfjs', { loadOptions: { device: 'cpu' } });
