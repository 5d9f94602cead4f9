// Where voting's time goes on the shipped MNIST models, per image, against the bare models.
// Usage: node bench/overhead.bench.mjs [--batch 100] [--reps 5] [--threads 2]
// Times (median of reps) for one batch of `batch` draws: the bare denoiser and classifier calls, voting's own
// numerics (noise, x_t*, one-shot, scale conversions, copies), and a whole DDS / DensePure evaluation through
// makeMethodGroup. pipeline / bare = (bare denoiser + bare classifier) / DDS evaluation. Idle machine needed
// for meaningful absolute numbers; the shares are what to compare.
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { either as E } from 'fp-ts';
import { loadClassifier, loadDenoiser } from '@densepure/backend';
import '@densepure/backend-onnx';
import { wrapClassifier } from '@densepure/classifiers';
import { readDpds } from '@densepure/datasets';
import { classifierPath, denoiserPath, testSetPath } from '@densepure/zoo-mnist';
import { fromModelScale, gaussianFill, noiseAddress, reverseStep } from '@densepure/core';
import { makeMethodGroup, planGroup } from '../dist/index.js';
import { diffusionStart, oneShotX0, smoothingNoise } from '../dist/evaluate.js';

const { values } = parseArgs({ options: { batch: { type: 'string', default: '100' }, reps: { type: 'string', default: '5' }, threads: { type: 'string', default: '2' } } });
const n = Number(values.batch);
const reps = Number(values.reps);
const must = (r) => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};
const options = { backend: 'onnx', threads: Number(values.threads) };
const denoiser = must(await loadDenoiser(denoiserPath, options)());
const classifier = must(await loadClassifier(classifierPath, options)());
const wrapped = must(wrapClassifier(classifier, [1, 28, 28]));
const image = must(await readDpds(testSetPath)).get(400).image;
const sigma = 0.5;
const plan = must(planGroup(denoiser.metadata, { sourceShape: [1, 28, 28], numClasses: 10 }, { sigma, seed: 0, batchSize: n, methods: [{ kind: 'dds' }, { kind: 'densepure', votes: 1, steps: 2, spacing: 'densepure' }] }));
const diffusion = plan.diffusion;
const at = { seed: 0, imageIndex: 400, draws: { firstDraw: 0, count: n } };

/** Median milliseconds of `reps` runs of `f` (after one warm-up). */
async function time(f) {
  await f();
  const ms = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await f();
    ms.push(performance.now() - t);
  }
  return ms.sort((a, b) => a - b)[Math.floor(reps / 2)];
}

const { noise } = smoothingNoise(image, sigma, at);
const xt = diffusionStart(diffusion, image, sigma, noise);
const atTStar = must(await denoiser.run(xt, new Int32Array(n).fill(diffusion.tStar.t))());
const x0 = oneShotX0(diffusion, xt, atTStar);
const chain = plan.families[0].plan;
const rows = [];
const row = (name, ms) => rows.push([name, ms]);

row('bare denoiser.run', await time(async () => must(await denoiser.run(xt, new Int32Array(n).fill(diffusion.tStar.t))())));
row('bare classifier.run (logits)', await time(async () => must(await classifier.run(x0, n)())));
row('wrapped classifier.labels', await time(async () => must(await wrapped.labels(x0, n)())));
row('smoothing noise + x + sigma noise', await time(() => smoothingNoise(image, sigma, at)));
row('  of which gaussianFill', await time(() => {
  const out = new Float32Array(784);
  for (let i = 0; i < n; i++) gaussianFill(out, noiseAddress({ seed: 0, imageIndex: 400, drawIndex: i, step: 'smoothing' }));
}));
row('x_t* (toModelScale)', await time(() => diffusionStart(diffusion, image, sigma, noise)));
row('one-shot x0 + fromModelScale', await time(() => oneShotX0(diffusion, xt, atTStar)));
row('reverse step (learned-range, noise)', await time(() => {
  const out = new Float32Array(xt.length);
  const stepNoise = new Float32Array(xt.length);
  reverseStep(chain, 0, xt, atTStar.eps, atTStar.v, stepNoise, out, { variance: 'learned-range', clipX0: true });
  fromModelScale(out, out);
}));
row('copy of one batch (Float32Array.set)', await time(() => new Float32Array(xt.length).set(xt)));
for (const [name, method] of [
  ['DDS evaluation (makeMethodGroup)', { kind: 'dds' }],
  ['DensePure K=1 b=2 evaluation', { kind: 'densepure', votes: 1, steps: 2, spacing: 'densepure' }],
]) {
  const group = must(makeMethodGroup(denoiser, wrapped, { sigma, seed: 0, batchSize: n, methods: [method] }));
  row(name, await time(async () => must(await group.counts(image, 400, at.draws))));
}

console.log(`voting overhead: batch ${n}, median of ${reps}, onnx threads ${values.threads}; ${cpus().length} cores (${cpus()[0]?.model})`);
console.log('step                                    ms/batch   us/image');
for (const [name, ms] of rows) console.log(`${name.padEnd(40)}${ms.toFixed(2).padStart(8)}  ${((ms * 1000) / n).toFixed(1).padStart(9)}`);
const get = (name) => rows.find((r) => r[0] === name)[1];
const bare = get('bare denoiser.run') + get('bare classifier.run (logits)');
console.log(`DDS pipeline / bare (denoiser + classifier): ${(bare / get('DDS evaluation (makeMethodGroup)')).toFixed(3)}`);
await denoiser.dispose();
await classifier.dispose();
