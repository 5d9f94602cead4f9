// Scale-out numbers: the queue's overhead per job, and certify images/s with 1 and 2 local workers.
// Starts its own redis-server on a free port. Run after `pnpm build`:
//   node bench/scale.bench.mjs [images=12] [N=100] [overheadJobs=300]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '@densepure/backend-onnx';
import { runCertify } from '@densepure/runner';
import { catalog } from '@densepure/zoo-mnist';
import { parseQueueUrl, queueScheduler } from '../dist/index.js';
import { runStandInCoordinator, startTestRedis } from '../dist/testing/index.js';

const [images = 12, N = 100, overheadJobs = 300] = process.argv.slice(2).map(Number);
const redis = await startTestRedis();
const connection = parseQueueUrl(redis.url).right;
const work = mkdtempSync(join(tmpdir(), 'densepure-scale-'));
const standIn = fileURLToPath(new URL('../dist/testing/stand-in-process.js', import.meta.url));
const tuning = { pollMs: 100, sweepMs: 1000 };
const children = [];
const spawnNode = (args) => {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  return child;
};
const stopChildren = async () => {
  await Promise.all(children.splice(0).map((c) => new Promise((r) => (c.exitCode !== null ? r() : (c.once('exit', r), c.kill('SIGTERM'))))));
};
/** Rows per second between the first and the last row (leaves out worker start-up and model loading). */
const rate = (times) => (times.length - 1) / ((times.at(-1) - times[0]) / 1000);

try {
  // 1. Overhead: one stand-in worker process computing (almost) nothing, one job per item, strictly one at a time.
  const config = { seed: 1, numClasses: 10, n0: 1, n: 1, sigma: 0.5, alpha: 0.001 };
  spawnNode([standIn, JSON.stringify({ role: 'worker', url: redis.url, config, tuning, name: 'bench' })]);
  const times = [];
  const run = await runStandInCoordinator({ connection, config, indices: Array.from({ length: overheadJobs }, (_, i) => i), out: join(work, 'overhead.tsv'), tuning, onRow: () => times.push(performance.now()) })();
  if (run._tag === 'Left') throw new Error(run.left.message);
  const perJob = 1000 / rate(times);
  await stopChildren();
  console.log(`queue overhead: ${perJob.toFixed(2)} ms per job (${overheadJobs} jobs, 1 worker process, stand-in compute ~0 ms)`);

  // 2. Real certify (DDS on the shipped MNIST models, one intra-op thread per process): local, then 1 and 2 workers.
  const spec = (out) => ({
    models: { denoiser: 'default', classifier: 'default', workers: 0, threads: 1 },
    dataset: { spec: 'default', skip: Math.floor(2000 / images), max: Math.floor(2000 / images) * images },
    runs: [{ method: { kind: 'dds' }, out }],
    sigma: 0.5, n0: 10, n: N, alpha: 0.001, seed: 0, batch: N + 10,
  });
  const measure = async (label, scheduler) => {
    const rows = [];
    const r = await runCertify(spec(join(work, `${label}.tsv`)), { catalog, hooks: { onRow: () => rows.push(performance.now()) }, ...(scheduler === undefined ? {} : { scheduler }) })();
    if (r._tag === 'Left') throw new Error(r.left.message);
    return rate(rows);
  };
  const local = await measure('local');
  const workerScript = `import { certifyWorker, parseQueueUrl } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
const stop = new AbortController(); process.on('SIGTERM', () => stop.abort());
await import('@densepure/backend-onnx');
const { catalog } = await import('@densepure/zoo-mnist');
await certifyWorker({ connection: parseQueueUrl(${JSON.stringify(redis.url)}).right, catalog, threads: 1, signal: stop.signal, tuning: ${JSON.stringify(tuning)} })();`;
  const results = { local };
  for (const w of [1, 2]) {
    for (let i = 0; i < w; i++) spawnNode(['--input-type=module', '-e', workerScript]);
    results[w] = await measure(`queue-${w}`, queueScheduler({ connection, tuning }));
    await stopChildren();
  }
  console.log(`certify DDS N0=10 N=${N}, ${images} images, 1 thread per process:`);
  console.log(`  single process: ${results.local.toFixed(3)} images/s`);
  console.log(`  queue, 1 worker: ${results[1].toFixed(3)} images/s`);
  console.log(`  queue, 2 workers: ${results[2].toFixed(3)} images/s (ratio 2/1: ${(results[2] / results[1]).toFixed(2)})`);
} finally {
  await stopChildren();
  await redis.stop();
  rmSync(work, { recursive: true, force: true });
}
