// The shipped exact-score MNIST eps model (models/mnist-gmm) through the certify path's onnx backend: throughput at
// batch 50 and 200 on 1 and 2 threads, and its largest difference from the float64 closed form at timesteps across
// the chain (x_t = sqrt(abar) x0 + sqrt(1 - abar) z for 100 mixture points x0 and Gaussian z).
// `node bench/eps.bench.mjs [--seconds 4]` from packages/ground-truth.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadDenoiser } from '@densepure/backend';
import '@densepure/backend-onnx';
import { gaussianFill, noiseAddress } from '@densepure/core';
import { exactEpsilon, parseMixtureFile, sampleMixture, scheduleAlphasCumprod } from '../dist/index.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
};
const seconds = arg('seconds', 4);
const dir = fileURLToPath(new URL('../models/mnist-gmm/', import.meta.url));
const parsed = parseMixtureFile(readFileSync(`${dir}mnist-gmm.mixture.json`, 'utf8'), 'mnist-gmm.mixture.json');
if (parsed._tag === 'Left') throw new Error(parsed.left.message);
const m = parsed.right;
const d = m.dim;
const ac = scheduleAlphasCumprod({ schedule: 'linear', T: 1000 });
const unwrap = (e) => {
  if (e._tag === 'Left') throw new Error(e.left.message);
  return e.right;
};

const rows = 100;
const x0 = sampleMixture(m, rows, 1, 0).points;
const z = new Float64Array(rows * d);
gaussianFill(z, noiseAddress({ seed: 2, imageIndex: 0, drawIndex: 0, step: 0 }));
const denoiser1 = unwrap(await loadDenoiser(`${dir}mnist-gmm-eps.onnx`, { backend: 'onnx', threads: 1 })());
let worst = 0;
for (const t of [0, 1, 10, 50, 100, 200, 300, 400, 600, 999]) {
  const a = Math.sqrt(ac[t]);
  const c = Math.sqrt(1 - ac[t]);
  const xt = new Float32Array(rows * d);
  for (let i = 0; i < rows * d; i++) xt[i] = a * x0[i] + c * z[i];
  const eps = unwrap(await denoiser1.run(xt, Array(rows).fill(t))()).eps;
  let w = 0;
  for (let r = 0; r < rows; r++) {
    const exact = exactEpsilon(m, ac[t], xt.subarray(r * d, (r + 1) * d), 1);
    for (let j = 0; j < d; j++) w = Math.max(w, Math.abs(eps[r * d + j] - exact[j]));
  }
  worst = Math.max(worst, w);
  console.log(`t ${String(t).padStart(3)}: largest |eps - closed form| ${w.toExponential(2)}`);
}
console.log(`largest over the chain: ${worst.toExponential(2)}`);

for (const threads of [1, 2]) {
  const den = threads === 1 ? denoiser1 : unwrap(await loadDenoiser(`${dir}mnist-gmm-eps.onnx`, { backend: 'onnx', threads })());
  for (const batch of [50, 200]) {
    const x = new Float32Array(batch * d);
    for (let i = 0; i < x.length; i++) x[i] = x0[i % (rows * d)];
    const ts = Array(batch).fill(100);
    unwrap(await den.run(x, ts)());
    const start = performance.now();
    let n = 0;
    while (performance.now() - start < seconds * 1000) {
      unwrap(await den.run(x, ts)());
      n += batch;
    }
    console.log(`threads ${threads} batch ${String(batch).padStart(3)}: ${Math.round(n / ((performance.now() - start) / 1000))} eps/s`);
  }
}
