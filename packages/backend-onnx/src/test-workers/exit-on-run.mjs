// A pool worker that loads fine and then dies (process.exit ends this worker thread) on its first batch.
import process from 'node:process';
import { parentPort } from 'node:worker_threads';

parentPort.on('message', (msg) => {
  if (msg.type === 'load') parentPort.postMessage({ type: 'loaded', provider: 'cpu' });
  else if (msg.type === 'run') process.exit(7);
});
