import type { Backend, BackendProbe } from '@densepure/backend';
import { type OnnxEngine, openEngine } from './engine.js';
import { registerEngineBackend } from './graph.js';
import { ORT_VERSION, supportedDevices } from './session.js';

export { ORT_VERSION, supportedDevices } from './session.js';
export type { EngineOptions, OnnxEngine } from './engine.js';
export { type DescribedModel, describeOnnxModel } from './describe.js';

const runtimeText = (engine: OnnxEngine): string =>
  `onnxruntime-node ${ORT_VERSION} (${engine.provider}, ${engine.threads} thread${engine.threads === 1 ? '' : 's'}` +
  `${engine.workers > 0 ? ` x ${engine.workers} workers` : ''})${engine.fallback === undefined ? '' : `; ${engine.fallback}`}`;

async function probe(): Promise<BackendProbe> {
  const devices = supportedDevices();
  return {
    available: true,
    runtime: `onnxruntime-node ${ORT_VERSION}`,
    // Only the providers openSession drives: cpu always, cuda when this build knows it.
    devices: ['cpu', ...devices.filter((d) => d.name === 'cuda').map((d) => d.name)],
    notes: devices
      .filter((d) => !d.bundled && d.name === 'cuda')
      .map(() => 'cuda: needs the onnxruntime CUDA libraries (onnxruntime-node\'s install script fetches them from NuGet with ONNXRUNTIME_NODE_INSTALL=cuda12); device cuda falls back to cpu with a message'),
  };
}

/** The onnxruntime-node backend. Importing this module registers it under 'onnx' (priority 100). */
export const onnxBackend: Backend = registerEngineBackend({ name: 'onnx', priority: 100, probe, open: openEngine, runtime: runtimeText });
