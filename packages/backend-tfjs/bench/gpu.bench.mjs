#!/usr/bin/env node
// Images per second of the shipped UNet (packages/zoo-mnist/models/denoiser.json) and classifier on the tfjs
// backend's webgpu device, against the CPU: onnxruntime-node (all cores), tfjs wasm and tfjs cpu, at a few batch
// sizes, on whatever WebGPU adapter Dawn finds here (printed first). `pnpm bench:gpu` from the repository root
// builds and runs it; a machine with a GPU runs it as is.
// Env: BENCH_SECONDS (time cap per cell, default 3), BENCH_BATCHES (default "1,16,64"),
// BENCH_WEBGPU (the device, default "webgpu": Dawn's native API, else GL ES; or "webgpu:vulkan", ...).
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadClassifier, loadDenoiser } from '@densepure/backend';
import '@densepure/backend-onnx';
import '../dist/index.js';
import { fmt, input, printTable, ratio, timeCell } from './cells.mjs';

// This script is the application: without a display, Mesa's EGL (Dawn's GL ES route) must run surfaceless.
process.env.EGL_PLATFORM ??= 'surfaceless';

const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const batches = (process.env.BENCH_BATCHES ?? '1,16,64').split(',').map(Number);
const webgpu = process.env.BENCH_WEBGPU ?? 'webgpu';
const cores = availableParallelism();
const zoo = fileURLToPath(new URL('../../zoo-mnist/models/', import.meta.url));
const models = [
  { kind: 'denoiser', path: `${zoo}denoiser.json`, load: loadDenoiser },
  { kind: 'classifier', path: `${zoo}classifier.json`, load: loadClassifier },
];
if (!models.every((m) => existsSync(m.path))) {
  console.error(`the shipped models are missing under ${zoo}: this bench runs the shipped UNet and classifier`);
  process.exit(1);
}

const columns = [
  { key: 'webgpu', title: webgpu, backend: 'tfjs', options: { device: webgpu } },
  { key: 'onnx', title: `onnx cpu ${cores}t`, backend: 'onnx', options: { threads: cores } },
  { key: 'wasm', title: 'tfjs wasm', backend: 'tfjs', options: { device: 'wasm' } },
  { key: 'cpu', title: 'tfjs cpu', backend: 'tfjs', options: { device: 'cpu' } },
];

console.log(`time cap per cell: ${seconds}s after one warm-up run; ${cores} core(s) visible; batches ${batches.join(', ')}`);
const runtimes = new Map();
for (const model of models) {
  const results = new Map();
  for (const col of columns) {
    const loaded = await model.load(model.path, { backend: col.backend, ...col.options })();
    if (loaded._tag === 'Left') {
      runtimes.set(col.title, `cannot load (${loaded.left.message})`);
      continue;
    }
    const m = loaded.right;
    runtimes.set(col.title, m.metadata.runtime);
    const [c, h, w] = m.metadata.inputShape;
    let estimate = 0;
    for (const b of batches) {
      const x = input(b * c * h * w, b);
      const t = Array.from({ length: b }, (_, i) => (i * 97) % 1000);
      const run = model.kind === 'denoiser' ? () => m.run(x, t) : () => m.run(x, b);
      try {
        const cell = await timeCell(run, b, seconds, estimate);
        estimate = cell.secondsPerItem;
        results.set(`${col.key}:${b}`, cell);
      } catch (cause) {
        results.set(`${col.key}:${b}`, { failed: String(cause) });
        console.log(`${model.kind} on ${col.title}, batch ${b}: ${cause instanceof Error ? cause.message : cause}`);
      }
    }
    await m.dispose();
  }
  console.log(`\n${model.kind} (${model.path}), images/s:`);
  const header = ['batch', ...columns.map((c) => c.title), 'webgpu / onnx', 'webgpu / wasm', 'webgpu warm-up s'];
  const rows = batches.map((b) => {
    const gpu = results.get(`webgpu:${b}`);
    return [
      String(b),
      ...columns.map((c) => fmt(results.get(`${c.key}:${b}`))),
      ratio(gpu, results.get(`onnx:${b}`)),
      ratio(gpu, results.get(`wasm:${b}`)),
      gpu?.warmSeconds === undefined ? 'n/a' : gpu.warmSeconds.toFixed(1),
    ];
  });
  printTable(header, rows);
}
console.log('\nruntimes (the webgpu line names the adapter):');
for (const [title, runtime] of runtimes) console.log(`  ${title}: ${runtime}`);
