// Runs an exported ONNX graph with onnxruntime-node on the inputs export_model.py saved and compares with the PyTorch
// outputs: ok when |onnx - torch| <= atol + rtol * |torch| everywhere, and again for the first input alone (dynamic batch).
// Usage: node tools/export/verify_onnx.mjs DIR/verify.json   (repository root, after `pnpm install`). Prints one JSON line.
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const anchor = join(root, 'packages', 'backend-onnx', 'package.json');
if (!existsSync(anchor)) throw new Error(`onnxruntime-node not found: run from a densepure checkout after pnpm install (${anchor})`);
const ort = createRequire(anchor)('onnxruntime-node');

const specPath = process.argv[2];
const spec = JSON.parse(readFileSync(specPath, 'utf8'));
const dir = dirname(specPath);
const read = (t) => {
  const buf = readFileSync(join(dir, t.file));
  const bytes = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  if (t.dtype === 'float32') return new Float32Array(bytes);
  if (t.dtype === 'int64') return new BigInt64Array(bytes);
  throw new Error(`unsupported dtype ${t.dtype}`);
};

const session = await ort.InferenceSession.create(spec.model, { intraOpNumThreads: 2 });
const feeds = (rows) =>
  Object.fromEntries(
    spec.inputs.map((t) => {
      const data = read(t);
      const per = data.length / t.shape[0];
      return [t.name, new ort.Tensor(t.dtype, data.slice(0, rows * per), [rows, ...t.shape.slice(1)])];
    }),
  );

function compare(got, want, rows) {
  const n = (want.length / spec.outputs[0].shape[0]) * rows;
  let maxAbs = 0;
  let torchMaxAbs = 0;
  let worst = 0; // max |diff| / (atol + rtol |torch|): <= 1 passes
  let ok = got.length === n;
  for (let i = 0; i < n && i < got.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    torchMaxAbs = Math.max(torchMaxAbs, Math.abs(want[i]));
    maxAbs = Math.max(maxAbs, d);
    const ratio = d / (spec.atol + spec.rtol * Math.abs(want[i]));
    worst = Math.max(worst, ratio);
    if (!(ratio <= 1)) ok = false;
  }
  return { ok, maxAbs, worst, torchMaxAbs };
}

const batch = spec.inputs[0].shape[0];
const report = { ok: true, atol: spec.atol, rtol: spec.rtol, runtime: `onnxruntime-node ${ort.env.versions.node ?? ort.env.versions.common}`, outputs: [] };
for (const [label, rows] of [['batch', batch], ['first image alone', 1]]) {
  const res = await session.run(feeds(rows));
  for (const o of spec.outputs) {
    const r = compare(res[o.name].data, read(o), rows);
    report.outputs.push({ output: o.name, rows, label, values: res[o.name].data.length, maxAbsErr: r.maxAbs, toleranceUsed: r.worst, torchMaxAbs: r.torchMaxAbs, ok: r.ok });
    if (!r.ok) report.ok = false;
  }
}
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exit(report.ok ? 0 : 1);
