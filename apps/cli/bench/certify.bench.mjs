// Time per certified image on the shipped MNIST models, for the settings the README quotes.
// Usage: node bench/certify.bench.mjs [--images 3] [--N 1000] [--workers 0,2]
// Prints a table; no assertions (speed targets live here, never in tests).
import { mkdtempSync, rmSync } from 'node:fs';
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
  smoothing: { denoiser: 'none', K: 1, steps: '1', oneShot: false },
  dds: { denoiser: 'default', K: 1, steps: '1', oneShot: true },
  'densepure-K5-b5': { denoiser: 'default', K: 5, steps: '5', oneShot: false },
  'densepure-K1-b10': { denoiser: 'default', K: 1, steps: '10', oneShot: false },
};

console.log(`certify bench: ${images} images (skip 400), sigma 0.5, N0 100, N ${N}, batch ${values.batch}; ${cpus().length} cores (${cpus()[0]?.model})`);
console.log('method              workers  s/image  denoiser evals/s  images');
for (const name of values.methods.split(',')) {
  for (const workers of values.workers.split(',').map(Number)) {
    const m = methods[name];
    if (m === undefined) throw new Error(`unknown method ${name}; known: ${Object.keys(methods).join(', ')}`);
    const out = join(dir, `${name}-${workers}.tsv`);
    const started = performance.now();
    const result = await runCertify({
      ...m,
      classifier: 'default',
      dataset: 'default',
      workers,
      sigma: 0.5,
      seed: 0,
      batch: Number(values.batch),
      n0: 100,
      n: N,
      alpha: 0.001,
      skip: 400,
      max: 400 * images,
      out,
      progress: 'none',
    });
    const seconds = (performance.now() - started) / 1000 / result.rows.length;
    const evals = result.pipeline.denoiserEvalsPerDraw * (100 + N);
    console.log(
      `${name.padEnd(20)}${String(workers).padStart(7)}  ${seconds.toFixed(2).padStart(7)}  ${(evals / seconds).toFixed(0).padStart(16)}  ${String(result.rows.length).padStart(6)}`,
    );
  }
}
rmSync(dir, { recursive: true, force: true });
