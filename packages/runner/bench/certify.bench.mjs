// Time per certified image on the shipped MNIST models, for the settings the README quotes.
// Usage: node bench/certify.bench.mjs [--images 3] [--N 1000] [--workers 0,2] [--methods smoothing,dds,densepure-K5-b5,paper-shared]
//        [--mode fixed|sequential]   (sequential: radii 0.25, 0.5, 0.75, 1 at sigma 0.5, N the cap; images grouped)
// `paper-shared` certifies experiments/mnist-paper.yaml's five methods together on shared draws (one RunSpec, five runs).
// Workers: 0 runs the models on the main thread, w >= 1 in w worker threads (one session each). Each run's time
// includes opening its models (as a CLI run does). Denoiser evaluations are as made (the decided-vote stop counts).
// Prints a table; no assertions (speed targets live here, never in tests).
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import '@densepure/backend-onnx';
import { catalog } from '@densepure/zoo-mnist';
import { runCertify } from '../dist/index.js';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '3' },
    N: { type: 'string', default: '1000' },
    workers: { type: 'string', default: '0' },
    batch: { type: 'string', default: '100' },
    methods: { type: 'string', default: 'smoothing,dds,densepure-K5-b5' },
    mode: { type: 'string', default: 'fixed' },
  },
});
const images = Number(values.images);
if (!['fixed', 'sequential'].includes(values.mode)) throw new Error(`--mode must be fixed or sequential, got ${values.mode}`);
const mode = values.mode === 'sequential' ? { mode: { kind: 'sequential', radii: [0.25, 0.5, 0.75, 1] } } : {};
const N = Number(values.N);
const dir = mkdtempSync(join(tmpdir(), 'densepure-bench-'));

const methods = {
  smoothing: { kind: 'smoothing' },
  dds: { kind: 'dds' },
  'densepure-K5-b5': { kind: 'densepure', votes: 5, steps: 5 },
  'densepure-K1-b10': { kind: 'densepure', votes: 1, steps: 10 },
  'densepure-K10-b2-dp': { kind: 'densepure', votes: 10, steps: 2, spacing: 'densepure' },
};
// The mnist-paper grid at one sigma: smoothing, DDS, DensePure K = 1, 5, 10 (b = 2, DensePure spacing) on the same draws.
const paperShared = [methods.smoothing, methods.dds, ...[1, 5, 10].map((votes) => ({ kind: 'densepure', votes, steps: 2, spacing: 'densepure' }))];

console.log(`certify bench: ${images} images (skip 400), sigma 0.5, N0 100, ${values.mode === 'sequential' ? `sequential (radii 0.25-1), cap N ${N}` : `N ${N}`}, batch ${values.batch}; ${cpus().length} cores (${cpus()[0]?.model}); load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log('method              workers  s/image  images/s  denoiser evals/image  denoiser evals/s  images');
for (const name of values.methods.split(',')) {
  for (const workers of values.workers.split(',').map(Number)) {
    const m = methods[name];
    if (m === undefined && name !== 'paper-shared') throw new Error(`unknown method ${name}; known: ${Object.keys(methods).join(', ')}, paper-shared`);
    const out = join(dir, `${name}-${workers}.tsv`);
    const started = performance.now();
    const runs = m === undefined ? paperShared.map((method, i) => ({ method, out: join(dir, `${name}-${workers}-${i}.tsv`) })) : [{ method: m, out }];
    const result = await runCertify({
      models: { denoiser: 'default', classifier: 'default', workers },
      dataset: { spec: 'default', skip: 400, max: 400 * images },
      runs,
      sigma: 0.5,
      seed: 0,
      batch: Number(values.batch),
      n0: 100,
      n: N,
      alpha: 0.001,
      ...mode,
    }, { catalog })();
    if (result._tag === 'Left') throw new Error(result.left.message);
    const rows = result.right[0].rows.length;
    const seconds = (performance.now() - started) / 1000 / rows;
    // Measured per image (the `.cost` lines); with shared draws every run records the shared evaluation.
    const evals = result.right[0].cost.meanEvaluations.denoiser;
    console.log(
      `${name.padEnd(20)}${String(workers).padStart(7)}  ${seconds.toFixed(2).padStart(7)}  ${(1 / seconds).toFixed(3).padStart(8)}  ${evals.toFixed(0).padStart(20)}  ${(evals / seconds).toFixed(0).padStart(16)}  ${String(rows).padStart(6)}`,
    );
  }
}
rmSync(dir, { recursive: true, force: true });
