// Numeric check of the exported ONNX graphs against the PyTorch fixtures, with onnxruntime-node.
// Usage: node tools/train/verify_onnx.mjs [mnist|fashion]   (from the repo root; needs `pnpm install` done)
// A zoo without an exported denoiser yet (its training run unfinished) has its classifier checked alone.
import { createRequire } from "node:module";
import { readFileSync, existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const candidates = [
  join(root, "packages", "backend-onnx", "package.json"),
  join(root, "node_modules", ".pnpm", "node_modules", "onnxruntime-node", "package.json"),
  join(root, "package.json"),
];
let ort;
for (const c of candidates) {
  if (!existsSync(c)) continue;
  try {
    ort = createRequire(c)(c.endsWith(join("onnxruntime-node", "package.json")) ? dirname(c) : "onnxruntime-node");
    break;
  } catch {
    /* try next */
  }
}
if (!ort) throw new Error("onnxruntime-node not found");

const zoo = join(root, "packages", `zoo-${process.argv[2] ?? "mnist"}`);
const hasDenoiser = existsSync(join(zoo, "fixtures", "denoiser-io.json"));
let failed = false;
async function check(name, feedsFn, outName) {
  const fx = JSON.parse(readFileSync(join(zoo, "fixtures", `${name}-io.json`), "utf8"));
  const sess = await ort.InferenceSession.create(join(zoo, "models", fx.model));
  const feeds = feedsFn(fx);
  const res = await sess.run(feeds);
  const got = res[outName].data;
  const want = fx[outName].data;
  let maxErr = 0;
  for (let i = 0; i < want.length; i++) maxErr = Math.max(maxErr, Math.abs(got[i] - want[i]));
  const ok = got.length === want.length && maxErr <= fx.tolerance;
  if (!ok) failed = true;
  console.log(`${name}: ${ok ? "OK" : "FAIL"} n=${want.length} maxAbsErr=${maxErr.toExponential(3)} dims=${res[outName].dims}`);
}

await check("classifier", (fx) => ({ x: new ort.Tensor("float32", Float32Array.from(fx.x.data), fx.x.shape) }), "logits");
if (hasDenoiser) await check(
  "denoiser",
  (fx) => ({
    x: new ort.Tensor("float32", Float32Array.from(fx.x.data), fx.x.shape),
    t: new ort.Tensor("int64", BigInt64Array.from(fx.t.map((v) => BigInt(v))), [fx.t.length]),
  }),
  "out",
);
// dynamic batch: first denoiser sample alone must match row 0
if (hasDenoiser) {
  const fx = JSON.parse(readFileSync(join(zoo, "fixtures", "denoiser-io.json"), "utf8"));
  const sess = await ort.InferenceSession.create(join(zoo, "models", fx.model));
  const per = fx.x.data.length / fx.t.length;
  const res = await sess.run({
    x: new ort.Tensor("float32", Float32Array.from(fx.x.data.slice(0, per)), [1, 1, 28, 28]),
    t: new ort.Tensor("int64", BigInt64Array.from([BigInt(fx.t[0])]), [1]),
  });
  const want = fx.out.data.slice(0, 2 * per);
  let maxErr = 0;
  for (let i = 0; i < want.length; i++) maxErr = Math.max(maxErr, Math.abs(res.out.data[i] - want[i]));
  const ok = maxErr <= fx.tolerance;
  if (!ok) failed = true;
  console.log(`denoiser batch=1: ${ok ? "OK" : "FAIL"} maxAbsErr=${maxErr.toExponential(3)}`);
}
process.exit(failed ? 1 : 0);
