// A pool worker that loads fine and never answers a batch (a run that never ends).
import { parentPort } from 'node:worker_threads';

parentPort.on('message', (msg) => {
  if (msg.type === 'load') parentPort.postMessage({ type: 'loaded', provider: 'cpu' });
});
