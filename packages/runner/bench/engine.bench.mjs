// The engine against the CPU's peak, side by side in one run: the shipped UNet (0.381 GFLOP per image) on
// onnxruntime-node with the shipped session settings, the shipped variants (or those named with --variant), tfjs wasm and
// tfjs cpu (@densepure/backend-tfjs), in GFLOP/s beside this CPU's sgemm peak measured in the same run (numpy's
// matmul on OpenBLAS through the PATH's python3, the same threads; Debian's /usr/bin/python3 numpy runs on
// reference BLAS, ~40x below the peak). Measurements are interleaved (sgemm, then every engine, round after round)
// so a loaded machine weighs on all of them alike; the load is printed with each round. Best and median per row.
// --settings adds every onnxruntime session setting one change at a time; --profile adds where the time goes
// (onnxruntime's profiler per op type, with FLOPs counted from the trace, and tfjs wasm per op type).
// Usage: node bench/engine.bench.mjs [--batch 100] [--threads 2] [--rounds 3] [--reps 3] [--sgemm-n 4096]
//   [--python python3] [--tfjs-cpu-batch 4] [--no-tfjs] [--settings] [--profile] [--variant name=file.onnx ...]
// Prints tables; no assertions.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadDenoiser } from '@densepure/backend';
import '@densepure/backend-tfjs';
import { denoiserManifestPath, denoiserPath } from '@densepure/zoo-mnist';
import { printOrtProfile, printTfjsProfile, profileOrt } from './engine-profile.mjs';

const ort = createRequire(import.meta.resolve('@densepure/backend-onnx'))('onnxruntime-node');
const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '100' },
    threads: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    reps: { type: 'string', default: '3' },
    'sgemm-n': { type: 'string', default: '4096' },
    python: { type: 'string', default: 'python3' },
    'tfjs-cpu-batch': { type: 'string', default: '4' },
    'no-tfjs': { type: 'boolean', default: false },
    settings: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    // The shipped variants (packages/zoo-mnist/models, tools/variants/README.md) unless named otherwise.
    variant: { type: 'string', multiple: true, default: [`int8=${fileURLToPath(import.meta.resolve('@densepure/zoo-mnist/models/denoiser-int8.onnx'))}`] },
  },
});
const batch = Number(values.batch);
const threads = Number(values.threads);
const rounds = Number(values.rounds);
const reps = Number(values.reps);
const tfjsCpuBatch = Number(values['tfjs-cpu-batch']);
const GFLOP_PER_IMAGE = 0.381;
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

// What backend-onnx uses (session.ts), then (--settings) one change at a time.
const base = { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 3 };
const SHIPPED = 'onnxruntime, shipped settings';
const shippedBytes = readFileSync(denoiserPath);
const ORT_ROWS = { [SHIPPED]: { bytes: shippedBytes, options: base } };
const VARIANTS = {};
for (const spec of values.variant) {
  const [name, file] = spec.includes('=') ? spec.split('=', 2) : [spec, spec];
  VARIANTS[`onnxruntime, variant ${name}`] = readFileSync(file);
  ORT_ROWS[`onnxruntime, variant ${name}`] = { bytes: VARIANTS[`onnxruntime, variant ${name}`], options: base };
}
if (values.settings) {
  const settings = {
    'graph optimisation: extended': { graphOptimizationLevel: 'extended' },
    'graph optimisation: basic': { graphOptimizationLevel: 'basic' },
    'graph optimisation: disabled': { graphOptimizationLevel: 'disabled' },
    'execution: parallel (inter-op 2)': { executionMode: 'parallel', interOpNumThreads: 2 },
    'no CPU memory arena': { enableCpuMemArena: false },
    'no memory pattern': { enableMemPattern: false },
    'no spinning (intra-op threads sleep)': { extra: { session: { intra_op: { allow_spinning: '0' } } } },
    'intra-op threads 1': { intraOpNumThreads: 1 },
  };
  for (const [name, change] of Object.entries(settings)) ORT_ROWS[`onnxruntime, ${name}`] = { bytes: shippedBytes, options: { ...base, ...change } };
}

/** GFLOP/s of an n x n x n float32 matmul with numpy (OpenBLAS), the best of `reps`, on `threads` threads. */
function sgemm() {
  const n = Number(values['sgemm-n']);
  const script = `
import time, numpy as np
n = ${n}
a = np.random.rand(n, n).astype(np.float32); b = np.random.rand(n, n).astype(np.float32)
a @ b
best = min((lambda t: (a @ b, time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(${reps}))
print(2 * n ** 3 / best / 1e9)
`;
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  delete env.OPENBLAS_CORETYPE;
  const r = spawnSync(values.python, ['-c', script], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sgemm with ${values.python} and numpy failed: ${r.stderr || r.error}`);
  return Number(r.stdout.trim());
}

// Inputs like the pipeline's: x_t* at sigma 0.5 (sqrt(abar) (x + 2 sigma noise)), at its t*.
const xt = new Float32Array(batch * 28 * 28);
for (let i = 0; i < xt.length; i++) xt[i] = 0.7 * (Math.random() * 2 - 1 + (Math.random() + Math.random() + Math.random() - 1.5) * 2);
const feeds = (s) => ({ [s.inputNames[0]]: new ort.Tensor('float32', xt, [batch, 1, 28, 28]), [s.inputNames[1]]: new ort.Tensor('int64', new BigInt64Array(batch).fill(300n), [batch]) });

/** Images per second of `run(images)`: the best of `times` calls. */
async function timed(run, images, times) {
  let best = Infinity;
  for (let r = 0; r < times; r++) {
    const started = performance.now();
    await run();
    best = Math.min(best, performance.now() - started);
  }
  return (images * 1000) / best;
}

const engines = {};
for (const [name, { bytes, options }] of Object.entries(ORT_ROWS)) {
  const s = await ort.InferenceSession.create(bytes, options);
  engines[name] = { run: () => s.run(feeds(s)), images: batch, times: reps, release: () => s.release() };
}
const runtimes = [];
if (!values['no-tfjs']) {
  // tfjs through the Backend interface certify uses; pure-JS cpu at a small batch, one call a round (~2 s/image).
  for (const [device, images, times] of [['wasm', batch, 1], ['cpu', tfjsCpuBatch, 1]]) {
    const loaded = await loadDenoiser(denoiserManifestPath, { backend: 'tfjs', device, threads })();
    if (loaded._tag === 'Left') throw new Error(`tfjs ${device}: ${loaded.left.message}`);
    const d = loaded.right;
    const x = xt.subarray(0, images * 784);
    const t = new Array(images).fill(300);
    const run = async () => {
      const r = await d.run(x, t)();
      if (r._tag === 'Left') throw new Error(`tfjs ${device}: ${r.left.message}`);
    };
    engines[`tfjs ${device}, batch ${images}`] = { run, images, times, release: () => d.dispose() };
    runtimes.push(`tfjs ${device}: ${d.metadata.runtime}`);
  }
}
for (const e of Object.values(engines)) await e.run(); // warm-up

console.log(`engine bench: shipped UNet (${GFLOP_PER_IMAGE} GFLOP per image), batch ${batch}, ${threads} threads, onnxruntime-node ${ort.env.versions?.common ?? ''}; ${cpus().length} cores (${cpus()[0]?.model}); ${rounds} rounds, onnxruntime best of ${reps}`);
const results = { sgemm: [] };
for (const name of Object.keys(engines)) results[name] = [];
for (let round = 0; round < rounds; round++) {
  const before = load();
  results.sgemm.push(sgemm());
  for (const [name, e] of Object.entries(engines)) results[name].push(GFLOP_PER_IMAGE * (await timed(e.run, e.images, e.times)));
  console.log(`round ${round + 1}: load ${before} -> ${load()}; sgemm ${results.sgemm.at(-1).toFixed(1)} GFLOP/s; shipped UNet ${results[SHIPPED].at(-1).toFixed(1)} GFLOP/s`);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const peak = Math.max(...results.sgemm);
console.log(`\nsgemm peak (numpy/OpenBLAS, n ${values['sgemm-n']}, ${threads} threads): best ${peak.toFixed(1)}, median ${median(results.sgemm).toFixed(1)} GFLOP/s`);
const width = Math.max(...Object.keys(engines).map((n) => n.length)) + 2;
console.log(`${'engine'.padEnd(width)}${'images/s'.padStart(10)}${'GFLOP/s'.padStart(10)}${'median'.padStart(10)}${'% of peak'.padStart(11)}${'% (medians)'.padStart(13)}`);
for (const name of Object.keys(engines)) {
  const best = Math.max(...results[name]);
  console.log(
    `${name.padEnd(width)}${(best / GFLOP_PER_IMAGE).toFixed(best / GFLOP_PER_IMAGE < 10 ? 2 : 0).padStart(10)}${best.toFixed(1).padStart(10)}${median(results[name]).toFixed(1).padStart(10)}${((100 * best) / peak).toFixed(1).padStart(11)}${((100 * median(results[name])) / median(results.sgemm)).toFixed(1).padStart(13)}`,
  );
}
for (const line of runtimes) console.log(line);
console.log(`load at the end ${load()}`);
await Promise.all(Object.values(engines).map((e) => e.release()));

if (values.profile) {
  console.log(`\nprofiles: load ${load()}`);
  const flopsByOpType = printOrtProfile(SHIPPED, await profileOrt(ort, shippedBytes, base, feeds, reps), batch, peak);
  for (const [name, bytes] of Object.entries(VARIANTS)) printOrtProfile(name, await profileOrt(ort, bytes, base, feeds, reps), batch, peak);
  if (!values['no-tfjs']) printTfjsProfile(batch, denoiserPath, flopsByOpType, peak);
  console.log(`load at the end ${load()}`);
}
