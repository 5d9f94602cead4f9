import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { denoiserPath } from '@densepure/zoo-mnist';
const ort = createRequire(import.meta.resolve('@densepure/backend-onnx'))('onnxruntime-node');
const batch = 100;
const opts = { executionProviders: ['cpu'], intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 3 };
const models = { fp32: denoiserPath, int8: '/tmp/eng/int8.onnx', fp16: '/tmp/eng/fp16.onnx' };
const s = {};
for (const [k, p] of Object.entries(models)) { try { s[k] = await ort.InferenceSession.create(readFileSync(p), opts); } catch (e) { console.log(k, 'fails:', String(e.message).slice(0, 300)); } }
const xt = new Float32Array(batch*784).map(() => Math.random()*2-1);
const feeds = (ss) => ({ [ss.inputNames[0]]: new ort.Tensor('float32', xt, [batch,1,28,28]), [ss.inputNames[1]]: new ort.Tensor('int64', new BigInt64Array(batch).fill(300n), [batch]) });
const outs = {};
for (const [k, ss] of Object.entries(s)) outs[k] = (await ss.run(feeds(ss)))[ss.outputNames[0]].data;
for (const k of Object.keys(outs)) { let m = 0; for (let i = 0; i < outs.fp32.length; i++) m = Math.max(m, Math.abs(outs[k][i]-outs.fp32[i])); console.log(k, 'max |diff| vs fp32', m.toExponential(3)); }
const best = {}; 
for (let r = 0; r < 5; r++) for (const [k, ss] of Object.entries(s)) { const t = performance.now(); await ss.run(feeds(ss)); const ms = performance.now()-t; best[k] = Math.min(best[k] ?? Infinity, ms); }
for (const k of Object.keys(best)) console.log(k, best[k].toFixed(0), 'ms/batch', (batch*1000/best[k]).toFixed(0), 'img/s', 'vs fp32', (best.fp32/best[k]).toFixed(2));
console.log(loadavg());
