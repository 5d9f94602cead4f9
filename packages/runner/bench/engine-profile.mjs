// Where the engine's time goes, for engine.bench.mjs --profile: onnxruntime's own profiler on the shipped session
// settings, per op type (share of time, GFLOP/s, share of FLOPs, FLOPs counted from the trace's shapes), and the
// tfjs wasm runtime's milliseconds per ONNX op type (backend-tfjs bench/profile.mjs, in a child process).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { byOpType, parseTrace } from '@densepure/backend-onnx/profile';
import { parseOnnx } from '@densepure/backend-tfjs';

// Ops that do one pass over memory per element (norms, activations, elementwise, layout and copies).
const DENSE = new Set(['Conv', 'FusedConv', 'ConvInteger', 'QLinearConv', 'Gemm', 'MatMul', 'MatMulInteger', 'FusedMatMul', 'Einsum']);

/**
 * Profiles `runs` calls (after one unprofiled warm-up inside the trace) of the model at `options`, returns the
 * per-op-type rows and the whole run's wall time. The session's optimised graph gives the attributes the FLOP
 * count needs.
 */
export async function profileOrt(ort, bytes, options, feeds, runs) {
  const dir = mkdtempSync(join(tmpdir(), 'densepure-engine-profile-'));
  try {
    const session = await ort.InferenceSession.create(bytes, { ...options, enableProfiling: true, profileFilePrefix: join(dir, 'trace'), optimizedModelFilePath: join(dir, 'optimised.onnx') });
    for (let i = 0; i <= runs; i++) await session.run(feeds(session));
    session.endProfiling();
    await session.release();
    const trace = readdirSync(dir).find((f) => f.startsWith('trace') && f.endsWith('.json'));
    const parsed = parseTrace(JSON.parse(readFileSync(join(dir, trace), 'utf8')));
    const attrs = new Map(parseOnnx(readFileSync(join(dir, 'optimised.onnx'))).nodes.map((n) => [n.name, n.attrs]));
    const measured = parsed.runs.slice(1);
    const rows = byOpType(parsed.nodes, measured, (name) => attrs.get(name));
    const wallMicros = measured.reduce((a, r) => a + r.micros, 0) / measured.length;
    return { rows, wallMicros };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const pct = (x) => `${(100 * x).toFixed(1)}%`;

/** Prints the op-type table and the Amdahl cap it implies against `peak` GFLOP/s. */
export function printOrtProfile(title, { rows, wallMicros }, batch, peak) {
  const kernelMicros = rows.reduce((a, r) => a + r.micros, 0);
  const flops = rows.reduce((a, r) => a + r.flops, 0);
  console.log(`\nprofile of ${title}, per run at batch ${batch}: wall ${(wallMicros / 1000).toFixed(1)} ms, kernels ${(kernelMicros / 1000).toFixed(1)} ms, ${(flops / batch / 1e9).toFixed(4)} GFLOP/image counted from the trace`);
  console.log(`${'op type'.padEnd(24)}${'nodes'.padStart(6)}${'ms'.padStart(9)}${'time'.padStart(8)}${'GFLOP/s'.padStart(9)}${'% peak'.padStart(8)}${'FLOPs'.padStart(8)}`);
  for (const r of rows) {
    const gflops = r.micros > 0 ? r.flops / r.micros / 1e3 : 0;
    console.log(
      `${r.opType.padEnd(24)}${String(r.nodes).padStart(6)}${(r.micros / 1000).toFixed(1).padStart(9)}${pct(r.micros / kernelMicros).padStart(8)}${gflops.toFixed(1).padStart(9)}${(r.flops > 0 && DENSE.has(r.opType) ? pct(gflops / peak) : '').padStart(8)}${pct(r.flops / flops).padStart(8)}`,
    );
  }
  const dense = rows.filter((r) => DENSE.has(r.opType));
  const denseMicros = dense.reduce((a, r) => a + r.micros, 0);
  const denseFlops = dense.reduce((a, r) => a + r.flops, 0);
  const otherMicros = wallMicros - denseMicros; // the memory-bound kernels plus the executor's own time
  // Even with every dense op at the sgemm peak (or as fast as now, if faster), the rest still takes otherMicros.
  const capped = flops / (Math.min(denseMicros, denseFlops / (peak * 1e3)) + otherMicros) / 1e3;
  console.log(
    `dense ops (Conv, Gemm, MatMul, Einsum): ${pct(denseMicros / wallMicros)} of the run's time for ${pct(denseFlops / flops)} of its FLOPs at ${(denseFlops / denseMicros / 1e3).toFixed(1)} GFLOP/s = ${pct(denseFlops / denseMicros / 1e3 / peak)} of the sgemm peak; ` +
      `everything else (norms, activations, elementwise, layout reorders, the executor): ${pct(otherMicros / wallMicros)} of the time for ${pct(1 - denseFlops / flops)} of the FLOPs.`,
  );
  console.log(`whole run ${(flops / wallMicros / 1e3).toFixed(1)} GFLOP/s = ${pct(flops / wallMicros / 1e3 / peak)} of the peak; with the dense ops at the sgemm peak and the rest unchanged it would be ${capped.toFixed(1)} GFLOP/s = ${pct(capped / peak)}: the cap without fusing the memory-bound ops.`);
  return Object.fromEntries(rows.map((r) => [r.opType, r.flops]));
}

/** tfjs wasm milliseconds per ONNX op type (a child process running backend-tfjs's profile bench). */
export function printTfjsProfile(batch, modelPath, flopsByOpType, peak) {
  const script = fileURLToPath(new URL('../../backend-tfjs/bench/profile.mjs', import.meta.url));
  const r = spawnSync(process.execPath, [script, String(batch), 'wasm', modelPath], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.log(`\ntfjs wasm profile failed: ${r.stderr.split('\n')[0]}`);
    return;
  }
  const lines = r.stdout.trim().split('\n');
  const ops = lines.slice(1).map((l) => l.match(/^(\S+)\s+([\d.]+) ms$/)).filter(Boolean).map((m) => ({ op: m[1], ms: Number(m[2]) }));
  const total = ops.reduce((a, o) => a + o.ms, 0);
  console.log(`\ntfjs profile: ${lines[0]}`);
  console.log(`${'op type'.padEnd(24)}${'ms'.padStart(9)}${'time'.padStart(8)}${'GFLOP/s'.padStart(9)}${'% peak'.padStart(8)}`);
  for (const o of ops) {
    // The dense ops keep their op type in the unoptimised graph tfjs runs; FLOPs per run at this batch.
    const flops = DENSE.has(o.op) ? flopsByOpType[o.op] : undefined;
    const gflops = flops === undefined || o.ms === 0 ? undefined : flops / o.ms / 1e6;
    console.log(`${o.op.padEnd(24)}${o.ms.toFixed(1).padStart(9)}${pct(o.ms / total).padStart(8)}${(gflops?.toFixed(1) ?? '').padStart(9)}${(gflops === undefined ? '' : pct(gflops / peak)).padStart(8)}`);
  }
}
