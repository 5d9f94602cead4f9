// The decided-vote stop on the shipped MNIST models: chain evaluations per draw with the stop off and on.
// Usage: node bench/decided-vote.bench.mjs [--images 20] [--draws 32] [--sigmas 0.25,0.5] [--K 10,5] [--steps 2] [--batch 100]
// Images are spread over the held-out split (every 1996/images-th, all classes). DensePure spacing, seed 0.
// Prints a table and checks that the counts are identical with the stop on and off; no timing claims.
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { either as E } from 'fp-ts';
import { loadClassifier, loadDenoiser } from '@densepure/backend';
import '@densepure/backend-onnx';
import { wrapClassifier } from '@densepure/classifiers';
import { readDpds } from '@densepure/datasets';
import { classifierPath, denoiserPath, testSetPath } from '@densepure/zoo-mnist';
import { makeMethodGroup } from '../dist/index.js';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '20' },
    draws: { type: 'string', default: '32' },
    sigmas: { type: 'string', default: '0.25,0.5' },
    K: { type: 'string', default: '10,5' },
    steps: { type: 'string', default: '2' },
    batch: { type: 'string', default: '100' },
  },
});
const must = (r) => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};
const images = Number(values.images);
const draws = { firstDraw: 0, count: Number(values.draws) };
const steps = Number(values.steps);
const denoiser = must(await loadDenoiser(denoiserPath, { backend: 'onnx' })());
const classifier = must(await loadClassifier(classifierPath, { backend: 'onnx' })());
const wrapped = must(wrapClassifier(classifier, [1, 28, 28]));
const dataset = must(await readDpds(testSetPath));
const indices = Array.from({ length: images }, (_, i) => Math.floor((i * dataset.size) / images));

/** One configuration over all images: counts and evaluations. */
async function measure(sigma, votes, decidedVoteStop) {
  const method = { kind: 'densepure', votes, steps, spacing: 'densepure' };
  const group = must(makeMethodGroup(denoiser, wrapped, { sigma, seed: 0, batchSize: Number(values.batch), methods: [method], decidedVoteStop }));
  const counts = [];
  const started = performance.now();
  for (const index of indices) counts.push(Array.from(must(await group.counts(dataset.get(index).image, index, draws))[0]));
  return { counts, evaluations: group.evaluations(), seconds: (performance.now() - started) / 1000 };
}

const totalDraws = images * draws.count;
console.log(`decided-vote stop: ${images} images x ${draws.count} draws, DensePure b = ${steps} (densepure spacing), batch ${values.batch}; ${cpus().length} cores (${cpus()[0]?.model})`);
console.log('sigma   K   chain evals/draw off   on     ratio   classifier evals/draw off   on    counts');
for (const sigma of values.sigmas.split(',').map(Number)) {
  for (const K of values.K.split(',').map(Number)) {
    const off = await measure(sigma, K, false);
    const on = await measure(sigma, K, true);
    // The shared call at t* is one denoiser evaluation per draw; the rest are the chains' further steps.
    const chain = (m) => (m.evaluations.denoiser - totalDraws) / totalDraws;
    const same = JSON.stringify(off.counts) === JSON.stringify(on.counts);
    console.log(
      `${String(sigma).padEnd(6)}${String(K).padStart(3)}   ${chain(off).toFixed(2).padStart(20)} ${chain(on).toFixed(2).padStart(6)}  ${(chain(off) / chain(on)).toFixed(2).padStart(6)}x` +
        `   ${(off.evaluations.classifier / totalDraws).toFixed(2).padStart(24)} ${(on.evaluations.classifier / totalDraws).toFixed(2).padStart(5)}    ${same ? 'identical' : 'DIFFER'}`,
    );
    if (!same) process.exitCode = 1;
  }
}
await denoiser.dispose();
await classifier.dispose();
