// Calibration ranges for tools/variants/qdq.py: runs the exposed model (qdq.py expose) on 60 held-out digits at
// odd indices 1, 27, 53, ... (disjoint from the even indices the accuracy check certifies), at sigma 0.25 / 0.5 / 1,
// and writes each exposed tensor's [min, max].
// Usage: node tools/variants/calibrate.mjs EXPOSED.onnx RANGES.json
import { readFileSync, writeFileSync } from 'node:fs';
import ort from 'onnxruntime-node';
import { denoiserManifestPath } from '@densepure/zoo-mnist';
import { noisedDigits } from './inputs.mjs';

const [exposed, out] = process.argv.slice(2);
if (out === undefined) throw new Error('usage: node tools/variants/calibrate.mjs EXPOSED.onnx RANGES.json');
const { diffusion } = JSON.parse(readFileSync(denoiserManifestPath, 'utf8'));
const indices = Array.from({ length: 60 }, (_, i) => 1 + 26 * i);
const { x, t } = noisedDigits(indices, [0.25, 0.5, 1], diffusion, 1);
const session = await ort.InferenceSession.create(readFileSync(exposed), { intraOpNumThreads: 2, graphOptimizationLevel: 'basic' });
const outputs = await session.run({ x: new ort.Tensor('float32', x, [indices.length, 1, 28, 28]), t: new ort.Tensor('int64', t, [indices.length]) });
const ranges = {};
for (const name of session.outputNames) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of outputs[name].data) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  ranges[name] = [lo, hi];
}
writeFileSync(out, `${JSON.stringify(ranges, null, 1)}\n`);
console.log(`${Object.keys(ranges).length} tensors' ranges -> ${out}`);
