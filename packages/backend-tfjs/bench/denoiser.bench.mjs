#!/usr/bin/env node
// UNet evaluations per second for the shipped denoiser (packages/zoo-mnist/models/denoiser.json, or a
// code-built UNet-like graph when it is absent) on onnxruntime-node and on the tfjs runtimes, batch 1/16/64,
// side by side with the ratio to onnxruntime. Plain node over dist/: run `pnpm build` first.
// Env: BENCH_SECONDS (time cap per cell, default 3), BENCH_BATCHES (default "1,16,64").
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDenoiser } from '@densepure/backend';
import '@densepure/backend-onnx';
import '../dist/index.js';
import { fmt, input, printTable, ratio, timeCell } from './cells.mjs';

const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const batches = (process.env.BENCH_BATCHES ?? '1,16,64').split(',').map(Number);
const cores = availableParallelism();

let model = fileURLToPath(new URL('../../zoo-mnist/models/denoiser.json', import.meta.url));
let cleanup = () => {};
let label = 'shipped zoo-mnist denoiser';
if (!existsSync(model)) {
  const { unetLikeOnnx, unetLikeManifest } = await import('../dist/unet-graph.js');
  const dir = mkdtempSync(join(tmpdir(), 'densepure-bench-'));
  const bytes = unetLikeOnnx({ imageSize: 28, channels: 32 });
  writeFileSync(join(dir, 'unet.onnx'), bytes);
  writeFileSync(join(dir, 'unet.json'), JSON.stringify(unetLikeManifest('unet.onnx', bytes, 28)));
  model = join(dir, 'unet.json');
  cleanup = () => rmSync(dir, { recursive: true, force: true });
  label = 'code-built UNet-like graph (28x28, 32 channels): the shipped denoiser is absent';
}

const columns = [
  { key: 'onnx1', title: 'onnx cpu 1t', backend: 'onnx', options: { threads: 1 } },
  ...(cores > 1 ? [{ key: 'onnxN', title: `onnx cpu ${cores}t`, backend: 'onnx', options: { threads: cores } }] : []),
  { key: 'wasm', title: 'tfjs wasm', backend: 'tfjs', options: { device: 'wasm' } },
  { key: 'cpu', title: 'tfjs cpu', backend: 'tfjs', options: { device: 'cpu' } },
];

console.log(`model: ${label}\n${model}\ntime cap per cell: ${seconds}s; ${cores} core(s) visible\n`);
const results = new Map();
const runtimes = [];
for (const col of columns) {
  const loaded = await loadDenoiser(model, { backend: col.backend, ...col.options })();
  if (loaded._tag === 'Left') {
    console.log(`${col.title}: cannot load (${loaded.left.message})`);
    continue;
  }
  const d = loaded.right;
  runtimes.push(`${col.title}: ${d.metadata.runtime}`);
  const [c, h, w] = d.metadata.inputShape;
  let estimate = 0;
  for (const b of batches) {
    const x = input(b * c * h * w, b);
    const t = Array.from({ length: b }, (_, i) => (i * 97) % d.metadata.diffusion.T);
    // A cell whose single run would take far past the cap (the pure-JS backend at large batches) is skipped.
    const cell = await timeCell(() => d.run(x, t), b, seconds, estimate);
    estimate = cell.secondsPerItem;
    results.set(`${col.key}:${b}`, cell);
  }
  await d.dispose();
}

const header = ['batch', ...columns.map((c) => `${c.title} (UNet/s)`), 'wasm / onnx 1t', 'cpu / onnx 1t'];
const rows = batches.map((b) => [
  String(b),
  ...columns.map((c) => fmt(results.get(`${c.key}:${b}`))),
  ratio(results.get(`wasm:${b}`), results.get(`onnx1:${b}`)),
  ratio(results.get(`cpu:${b}`), results.get(`onnx1:${b}`)),
]);
printTable(header, rows);
console.log(`\n${runtimes.join('\n')}`);
cleanup();
