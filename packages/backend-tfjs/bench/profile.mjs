#!/usr/bin/env node
// Milliseconds per ONNX op type for one denoiser run on a tfjs runtime: where the time goes.
// Usage (after `pnpm build`): node bench/profile.mjs [batch=16] [device=wasm] [model=../zoo-mnist/models/denoiser.onnx]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chooseRuntime, parseOnnx } from '../dist/index.js';
import { compileGraph } from '../dist/onnx/graph.js';
import { wrap } from '../dist/onnx/values.js';

const batch = Number(process.argv[2] ?? 16);
const device = process.argv[3] ?? 'wasm';
const file = process.argv[4] ?? fileURLToPath(new URL('../../zoo-mnist/models/denoiser.onnx', import.meta.url));
const graph = parseOnnx(readFileSync(file));
const choice = await chooseRuntime(device);
if (choice._tag === 'Left') throw new Error(choice.left.message);
const tf = choice.right.runtime.tf;
const [xSpec, tSpec] = graph.inputs;
const xShape = xSpec.shape.map((d) => (typeof d === 'number' ? d : batch));
const compiled = compileGraph(tf, graph, graph.inputs.map((i) => i.name));
const feeds = () =>
  new Map([
    [xSpec.name, wrap(tf.tensor(new Float32Array(xShape.reduce((a, b) => a * b, 1)).fill(0.1), xShape), 'float32')],
    ...(tSpec === undefined ? [] : [[tSpec.name, wrap(tf.tensor(new Array(batch).fill(100), [batch], 'int32'), 'int64')]]),
  ]);
const once = (profile) => {
  const f = feeds();
  compiled.run(f, [graph.outputs[0].name], profile).forEach((t) => t.dispose());
  for (const v of f.values()) v.tensor.dispose();
};
once();
const profile = new Map();
const runs = 3;
const start = performance.now();
for (let i = 0; i < runs; i++) once(profile);
console.log(`${choice.right.runtime.label}, batch ${batch}: ${((performance.now() - start) / runs).toFixed(1)} ms/run (${compiled.folded} nodes folded at load)`);
for (const [op, ms] of [...profile].sort((a, b) => b[1] - a[1])) console.log(`${op.padEnd(24)} ${(ms / runs).toFixed(2)} ms`);
compiled.dispose();
