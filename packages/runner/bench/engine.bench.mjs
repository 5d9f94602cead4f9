// The engine against the CPU's peak: the shipped UNet on onnxruntime-node under each session setting, in GFLOP/s
// (0.381 GFLOP per image), beside this CPU's sgemm peak measured in the same run (numpy's matmul on OpenBLAS through
// the PATH's python3, the same threads; Debian's /usr/bin/python3 numpy runs on reference BLAS, ~40x below the peak). Measurements are interleaved (sgemm, then every setting, round after round)
// so a loaded machine weighs on all of them alike; the load is printed with each round. Best and median per setting.
// Usage: node bench/engine.bench.mjs [--batch 100] [--threads 2] [--rounds 3] [--reps 3] [--sgemm-n 2048] [--python python3]
// Prints tables; no assertions.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { denoiserPath } from '@densepure/zoo-mnist';

const ort = createRequire(import.meta.resolve('@densepure/backend-onnx'))('onnxruntime-node');
const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '100' },
    threads: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    reps: { type: 'string', default: '3' },
    'sgemm-n': { type: 'string', default: '2048' },
    python: { type: 'string', default: 'python3' },
  },
});
const batch = Number(values.batch);
const threads = Number(values.threads);
const rounds = Number(values.rounds);
const reps = Number(values.reps);
const GFLOP_PER_IMAGE = 0.381;
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

// What backend-onnx uses (session.ts), then one change at a time.
const base = { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 3 };
const SETTINGS = {
  'shipped (all, sequential, arena)': base,
  'graph optimisation: extended': { ...base, graphOptimizationLevel: 'extended' },
  'graph optimisation: basic': { ...base, graphOptimizationLevel: 'basic' },
  'graph optimisation: disabled': { ...base, graphOptimizationLevel: 'disabled' },
  'execution: parallel (inter-op 2)': { ...base, executionMode: 'parallel', interOpNumThreads: 2 },
  'no CPU memory arena': { ...base, enableCpuMemArena: false },
  'no memory pattern': { ...base, enableMemPattern: false },
  'no spinning (intra-op threads sleep)': { ...base, extra: { session: { intra_op: { allow_spinning: '0' } } } },
  [`intra-op threads 1`]: { ...base, intraOpNumThreads: 1 },
};

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

const bytes = readFileSync(denoiserPath);
const sessions = {};
for (const [name, options] of Object.entries(SETTINGS)) sessions[name] = await ort.InferenceSession.create(bytes, options);
// Inputs like the pipeline's: x_t* at sigma 0.5 (sqrt(abar) (x + 2 sigma noise)), at its t*.
const xt = new Float32Array(batch * 28 * 28);
for (let i = 0; i < xt.length; i++) xt[i] = 0.7 * (Math.random() * 2 - 1 + (Math.random() + Math.random() + Math.random() - 1.5) * 2);
const feeds = (s) => ({ [s.inputNames[0]]: new ort.Tensor('float32', xt, [batch, 1, 28, 28]), [s.inputNames[1]]: new ort.Tensor('int64', new BigInt64Array(batch).fill(300n), [batch]) });
/** Images per second of one session: the best of `reps` calls at `batch`. */
async function unet(s) {
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const started = performance.now();
    await s.run(feeds(s));
    best = Math.min(best, performance.now() - started);
  }
  return (batch * 1000) / best;
}
for (const s of Object.values(sessions)) await s.run(feeds(s)); // warm-up

console.log(`engine bench: shipped UNet (${GFLOP_PER_IMAGE} GFLOP per image), batch ${batch}, ${threads} threads, onnxruntime-node ${ort.env.versions?.common ?? ''}; ${cpus().length} cores (${cpus()[0]?.model}); ${rounds} rounds x best of ${reps}`);
const results = { sgemm: [] };
for (const name of Object.keys(SETTINGS)) results[name] = [];
for (let round = 0; round < rounds; round++) {
  const before = load();
  results.sgemm.push(sgemm());
  for (const [name, s] of Object.entries(sessions)) results[name].push(GFLOP_PER_IMAGE * (await unet(s)));
  console.log(`round ${round + 1}: load ${before} -> ${load()}; sgemm ${results.sgemm.at(-1).toFixed(1)} GFLOP/s; shipped UNet ${results[Object.keys(SETTINGS)[0]].at(-1).toFixed(1)} GFLOP/s`);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const peak = Math.max(...results.sgemm);
console.log(`\nsgemm peak (numpy/OpenBLAS, n ${values['sgemm-n']}, ${threads} threads): best ${peak.toFixed(1)}, median ${median(results.sgemm).toFixed(1)} GFLOP/s`);
console.log(`${'setting'.padEnd(40)}${'images/s'.padStart(10)}${'GFLOP/s'.padStart(10)}${'median'.padStart(10)}${'% of peak'.padStart(11)}${'% (medians)'.padStart(13)}`);
for (const name of Object.keys(SETTINGS)) {
  const best = Math.max(...results[name]);
  console.log(
    `${name.padEnd(40)}${(best / GFLOP_PER_IMAGE).toFixed(0).padStart(10)}${best.toFixed(1).padStart(10)}${median(results[name]).toFixed(1).padStart(10)}${((100 * best) / peak).toFixed(1).padStart(11)}${((100 * median(results[name])) / median(results.sgemm)).toFixed(1).padStart(13)}`,
  );
}
console.log(`load at the end ${load()}`);
await Promise.all(Object.values(sessions).map((s) => s.release()));
