// Time per certified image on the shipped MNIST models, for the settings the README quotes.
// Usage: node bench/certify.bench.mjs [--images 3] [--N 1000] [--workers 0,2] [--methods smoothing,dds,densepure-K5-b5,paper-shared]
// `paper-shared` certifies experiments/mnist-paper.yaml's five methods together on shared draws (one RunSpec, five runs).
// Prints a table; no assertions (speed targets live here, never in tests).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCertify } from '../dist/index.js';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '3' },
    N: { type: 'string', default: '1000' },
    workers: { type: 'string', default: '0' },
    batch: { type: 'string', default: '100' },
    methods: { type: 'string', default: 'smoothing,dds,densepure-K5-b5' },
  },
});
const images = Number(values.images);
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

console.log(`certify bench: ${images} images (skip 400), sigma 0.5, N0 100, N ${N}, batch ${values.batch}; ${cpus().length} cores (${cpus()[0]?.model})`);
console.log('method              workers  s/image  denoiser evals/s  images');
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
    })();
    if (result._tag === 'Left') throw new Error(result.left.message);
    const rows = result.right[0].rows.length;
    const evalsPerDraw = m === undefined ? JSON.parse(readFileSync(result.right[0].sidecar, 'utf8')).sharedDraws.denoiserEvalsPerDraw : result.right[0].denoiserEvalsPerDraw;
    const seconds = (performance.now() - started) / 1000 / rows;
    const evals = evalsPerDraw * (100 + N);
    console.log(
      `${name.padEnd(20)}${String(workers).padStart(7)}  ${seconds.toFixed(2).padStart(7)}  ${(evals / seconds).toFixed(0).padStart(16)}  ${String(rows).padStart(6)}`,
    );
  }
}
rmSync(dir, { recursive: true, force: true });
