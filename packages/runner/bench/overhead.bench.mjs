// Pipeline overhead: DDS draws through the real pipeline against a bare onnxruntime-node loop of the same models.
// Usage: node bench/overhead.bench.mjs [--batch 100] [--batches 5] [--rounds 4] [--threads 2]   (batches >= 2)
// Each round runs, back to back in this process, (a) bare: `batches` x (denoiser session.run + classifier
// session.run) at `batch` with the pipeline's session options, straight on onnxruntime-node, and (b) pipeline:
// DDS counts for batches x batch draws of one image through loadDenoiser/loadClassifier + wrapClassifier +
// makeMethodGroup (what certify calls). Rounds alternate the order (ABBA...), so on a loaded machine the ratio
// per round is what means something; the median ratio is printed. The breakdown splits the pipeline's time into
// the denoiser / classifier calls (as voting sees them) and the rest (noise, scale conversions, copies, votes).
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { either as E } from 'fp-ts';
import { loadClassifier, loadDenoiser, makeClassifier, makeDenoiser, resolveModel, tensorNames } from '@densepure/backend';
import '@densepure/backend-onnx';
import { wrapClassifier } from '@densepure/classifiers';
import { certify } from '@densepure/core';
import { readDpds } from '@densepure/datasets';
import { makeMethodGroup } from '@densepure/voting';
import { catalog, classifierPath, denoiserPath, testSetPath } from '@densepure/zoo-mnist';
import { createModelCache, runCertify } from '../dist/index.js';

const ort = createRequire(import.meta.resolve('@densepure/backend-onnx'))('onnxruntime-node');
const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '100' },
    batches: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '4' },
    threads: { type: 'string', default: '2' },
    // Bare images/s of the denoiser and the classifier on an idle machine (2 cores, batch 100, 2 threads).
    'idle-bare': { type: 'string', default: '550,8100' },
  },
});
const batch = Number(values.batch);
const batches = Number(values.batches);
const rounds = Number(values.rounds);
const threads = Number(values.threads);
const must = (r) => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};
const sigma = 0.5;
const imageIndex = 400;
const image = must(await readDpds(testSetPath)).get(imageIndex).image;

// (a) bare onnxruntime-node, the session options backend-onnx uses.
const sessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
const bareDenoiser = await ort.InferenceSession.create(must(await resolveModel(denoiserPath)()).modelBytes, sessionOptions);
const bareClassifier = await ort.InferenceSession.create(must(await resolveModel(classifierPath)()).modelBytes, sessionOptions);
// The inputs are the pipeline's own (captured during its warm-up): speed can depend on values (denormals).
const inputs = { xt: null, t: null, x: null };
const bare = { denoiser: 0, classifier: 0 };
async function runBare() {
  for (let b = 0; b < batches; b++) {
    let started = performance.now();
    await bareDenoiser.run({ [bareDenoiser.inputNames[0]]: new ort.Tensor('float32', inputs.xt, [batch, 1, 28, 28]), [bareDenoiser.inputNames[1]]: new ort.Tensor('int64', inputs.t, [batch]) });
    bare.denoiser += performance.now() - started;
    started = performance.now();
    await bareClassifier.run({ [bareClassifier.inputNames[0]]: new ort.Tensor('float32', inputs.x, [batch, 1, 28, 28]) });
    bare.classifier += performance.now() - started;
  }
}

// (b) the pipeline, with the model calls timed as voting sees them.
const options = { backend: 'onnx', threads };
const denoiser = must(await loadDenoiser(denoiserPath, options)());
const classifier = must(await loadClassifier(classifierPath, options)());
const capturing = {
  ...classifier,
  run: (x, n) => {
    inputs.x ??= Float32Array.from(x);
    return classifier.run(x, n);
  },
};
const wrapped = must(wrapClassifier(capturing, [1, 28, 28]));
const pipe = { denoiser: 0, classifier: 0 };
const timed = (task, into) => async () => {
  const started = performance.now();
  const r = await task();
  pipe[into] += performance.now() - started;
  return r;
};
const timedDenoiser = {
  ...denoiser,
  run: (x, ts) => {
    inputs.xt ??= Float32Array.from(x);
    inputs.t ??= BigInt64Array.from(ts, BigInt);
    return timed(denoiser.run(x, ts), 'denoiser');
  },
};
const timedClassifier = { ...wrapped, labels: (x, n) => timed(wrapped.labels(x, n), 'classifier') };
const group = must(makeMethodGroup(timedDenoiser, timedClassifier, { sigma, seed: 0, batchSize: batch, methods: [{ kind: 'dds' }] }));
// (c) runner: the whole runCertify of one image (opens the models and the dataset, writes the TSV and sidecar):
// what certify.bench's images/s sees, fixed costs included; (d) the same with the models kept open in a
// ModelCache across runs (an eval grid, a queue worker).
const dir = mkdtempSync(join(tmpdir(), 'densepure-overhead-'));
const cache = createModelCache();
let runnerRuns = 0;
async function runRunner(withCache) {
  const result = await runCertify({
    models: { denoiser: 'default', classifier: 'default', workers: 0, threads },
    dataset: { spec: 'default', skip: imageIndex, max: imageIndex },
    runs: [{ method: { kind: 'dds' }, out: join(dir, `run-${runnerRuns++}.tsv`) }],
    sigma,
    seed: 0,
    batch,
    n0: batch,
    n: batch * (batches - 1),
    alpha: 0.001,
  }, { catalog, ...(withCache === undefined ? {} : { cache: withCache }) })();
  if (result._tag === 'Left') throw new Error(result.left.message);
}

// One CERTIFY of one image, as the runner's certifyImage calls it: N0 = one batch, N = the other batches.
async function runPipeline() {
  const [sampler] = group.samplers(image, imageIndex, [0]);
  must(await certify(sampler, { sigma, n0: batch, n: batch * (batches - 1), alpha: 0.001, batchSize: batch, numClasses: 10 }));
}

const timeOf = async (f) => {
  const started = performance.now();
  await f();
  return performance.now() - started;
};
await runPipeline(); // warm-up both (the pipeline first: it captures the inputs)
await runBare();
await runRunner();
await runRunner(cache);
Object.assign(bare, { denoiser: 0, classifier: 0 });
Object.assign(pipe, { denoiser: 0, classifier: 0 });

const draws = batch * batches;
console.log(`overhead bench: DDS, batch ${batch}, ${batches} batches (${draws} draws) per side, ${rounds} rounds ABBA; onnx threads ${threads}; ${cpus().length} cores; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log('round  bare images/s  pipeline images/s  runner images/s  runner (open) images/s  pipeline/bare  runner/bare  runner (open)/bare');
const ratios = [];
const runnerRatios = [];
const openRatios = [];
const totals = { bare: 0, pipeline: 0, runner: 0, open: 0 };
const sides = { bare: runBare, pipeline: runPipeline, runner: () => runRunner(), open: () => runRunner(cache) };
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? ['bare', 'pipeline', 'runner', 'open'] : ['open', 'runner', 'pipeline', 'bare'];
  const ms = {};
  for (const side of order) ms[side] = await timeOf(sides[side]);
  for (const side of order) totals[side] += ms[side];
  ratios.push(ms.bare / ms.pipeline);
  runnerRatios.push(ms.bare / ms.runner);
  openRatios.push(ms.bare / ms.open);
  const rate = (side) => ((draws * 1000) / ms[side]).toFixed(0);
  console.log(
    `${String(r + 1).padStart(5)}  ${rate('bare').padStart(13)}  ${rate('pipeline').padStart(17)}  ${rate('runner').padStart(15)}  ${rate('open').padStart(22)}  ${(ms.bare / ms.pipeline).toFixed(3).padStart(13)}  ${(ms.bare / ms.runner).toFixed(3).padStart(11)}  ${(ms.bare / ms.open).toFixed(3).padStart(18)}`,
  );
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)].toFixed(3);
console.log(`pipeline / bare: median ${median(ratios)}, overall ${(totals.bare / totals.pipeline).toFixed(3)}; runner / bare: median ${median(runnerRatios)}, overall ${(totals.bare / totals.runner).toFixed(3)}; runner (models open) / bare: median ${median(openRatios)}, overall ${(totals.bare / totals.open).toFixed(3)}; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const per = (x) => ((x * 1000) / (draws * rounds)).toFixed(1).padStart(8);
const rest = totals.pipeline - pipe.denoiser - pipe.classifier;
console.log('breakdown, us per draw      bare  pipeline     extra');
console.log(`denoiser call           ${per(bare.denoiser)}  ${per(pipe.denoiser)}  ${per(pipe.denoiser - bare.denoiser)}`);
console.log(`classifier call         ${per(bare.classifier)}  ${per(pipe.classifier)}  ${per(pipe.classifier - bare.classifier)}`);
console.log(`voting's own work       ${per(0)}  ${per(rest)}  ${per(rest)}`);
console.log(`total                   ${per(totals.bare)}  ${per(totals.pipeline)}  ${per(totals.pipeline - totals.bare)}`);

// The pipeline's own cost without the models: the same CERTIFY with engines that answer at once (a fresh copy
// of the real outputs, as onnxruntime hands back a fresh array), through the same wrappers (input checks,
// eps/v split, classifier preprocessing, argmax). Main-thread work only, so its minimum over repetitions is
// close to its cost on an idle machine; with the bare loop's minimum it estimates the idle ratio.
const rawOutput = async (session, feeds) => (await session.run(feeds))[session.outputNames[0]].data;
const denoiserOut = await rawOutput(bareDenoiser, { [bareDenoiser.inputNames[0]]: new ort.Tensor('float32', inputs.xt, [batch, 1, 28, 28]), [bareDenoiser.inputNames[1]]: new ort.Tensor('int64', inputs.t, [batch]) });
const classifierOut = await rawOutput(bareClassifier, { [bareClassifier.inputNames[0]]: new ort.Tensor('float32', inputs.x, [batch, 1, 28, 28]) });
const replay = (out, perImage) => ({ run: async (x, n) => E.right(out.slice(0, n * perImage)), dispose: async () => {} });
const manifestOf = async (path) => must(await resolveModel(path)()).manifest;
const fastDenoiser = makeDenoiser(denoiser.metadata, replay(denoiserOut, denoiserOut.length / batch), tensorNames(await manifestOf(denoiserPath)));
const fastClassifier = makeClassifier(classifier.metadata, replay(classifierOut, classifierOut.length / batch), tensorNames(await manifestOf(classifierPath)));
const fastGroup = must(makeMethodGroup(fastDenoiser, must(wrapClassifier(fastClassifier, [1, 28, 28])), { sigma, seed: 0, batchSize: batch, methods: [{ kind: 'dds' }] }));
const minOf = async (reps, f) => {
  let best = Infinity;
  for (let r = 0; r < reps; r++) best = Math.min(best, await timeOf(f));
  return best;
};
const overheadMs = await minOf(20, async () => must(await certify(fastGroup.samplers(image, imageIndex, [0])[0], { sigma, n0: batch, n: batch * (batches - 1), alpha: 0.001, batchSize: batch, numClasses: 10 })));
const bareMinMs = await minOf(3, runBare);
console.log(
  `without the models: the pipeline's own work ${((overheadMs * 1000) / draws).toFixed(1)} us per draw (min of 20), bare models ${((bareMinMs * 1000) / draws).toFixed(1)} us per draw (min of 3)` +
    ` => pipeline / bare ${(bareMinMs / (bareMinMs + overheadMs)).toFixed(3)}`,
);
const [idleDenoiser, idleClassifier] = values['idle-bare'].split(',').map(Number);
const idleBareUs = 1e6 / idleDenoiser + 1e6 / idleClassifier;
const ownUs = (overheadMs * 1000) / draws;
console.log(`idle estimate with bare ${idleDenoiser} + ${idleClassifier} images/s (${idleBareUs.toFixed(0)} us per draw): pipeline / bare ${(idleBareUs / (idleBareUs + ownUs)).toFixed(3)}`);
rmSync(dir, { recursive: true, force: true });
await cache.dispose();
await Promise.all([bareDenoiser.release(), bareClassifier.release(), denoiser.dispose(), classifier.dispose()]);
