// node packages/ground-truth/dist/study/mnist-exact-vote.js EXPERIMENT.yaml [--results DIR] [--cells TEXT] [--posterior-K K]
//
// The exact-posterior members of an exact-score certify experiment (one that densepure-eval runs), on the same
// points, noise draws and sequential rule, so every certificate pairs with the experiment's cells:
//   exact-classmass:    the K -> infinity vote (argmax of the posterior class mass at x_t*);
//   exact-posterior-KK: the vote over K exact posterior samples classified by the experiment's classifier
//                       (only with --posterior-K: K classifier calls per draw).
// Writes <DIR>/<name>-exact/<method>_sigma<s>.tsv (Cohen's columns idx label predict radius correct time) and
// resumes after the last complete row; DIR defaults to results. The mixture is the one the experiment's denoiser
// manifest names (dataset.mixtureFile, next to it).
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { either as E } from 'fp-ts';
import YAML from 'yaml';
import { z } from 'zod';
import { type Sampler, certifySequential } from '@densepure/core';
import { loadClassifier } from '@densepure/backend';
import '@densepure/backend-onnx';
import { wrapClassifier } from '@densepure/classifiers';
import { readDpds, selectIndices } from '@densepure/datasets';
import { radiiUpTo } from '@densepure/runner';
import { classMassSampler, posteriorVoteSampler } from '../exact-vote.js';
import { parseMixtureFile } from '../mixture-file.js';
import { scheduleAlphasCumprod } from '../onnx-models.js';

function fail(message: string): never {
  process.stderr.write(`mnist-exact-vote: ${message}\n`);
  process.exit(1);
}

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
};
const file = args.find((a, i) => !a.startsWith('--') && !['--results', '--cells', '--posterior-K'].includes(args[i - 1] ?? ''));
if (file === undefined) fail('usage: mnist-exact-vote EXPERIMENT.yaml [--results DIR] [--cells TEXT] [--posterior-K K]');
const posteriorK = flag('--posterior-K') === undefined ? undefined : Number(flag('--posterior-K'));
if (posteriorK !== undefined && !(Number.isInteger(posteriorK) && posteriorK >= 1 && posteriorK <= 1000)) fail(`--posterior-K must be a whole number in [1, 1000], got ${flag('--posterior-K')}`);

// The keys of densepure-eval's experiment file this needs (the rest is ignored).
const perSigma = <T extends z.ZodType>(v: T) => z.union([v, z.record(z.string(), v)]);
const schema = z.object({
  name: z.string(),
  models: z.object({ denoiser: z.string(), classifier: z.string() }),
  dataset: z.object({ spec: z.string(), skip: z.number().int().min(1).default(1), max: z.number().int().optional() }),
  sigmas: z.array(z.number().positive()),
  certify: z.object({ N0: z.number().int(), N: z.number().int(), alpha: z.number(), sequential: z.object({ maxRadius: perSigma(z.number().positive()) }) }),
  seed: z.number().int().default(0),
  batch: z.number().int().default(64),
});
let parsed: z.output<typeof schema>;
try {
  parsed = schema.parse(YAML.parse(readFileSync(file, 'utf8')));
} catch (e) {
  fail(`${file}: ${(e as Error).message} (an experiment file with certify.sequential.maxRadius is expected)`);
}
const x = parsed;
const manifest = JSON.parse(readFileSync(x.models.denoiser.replace(/\.onnx$/, '.json'), 'utf8')) as { diffusion: { schedule: 'linear' | 'cosine'; T: number }; dataset?: { mixtureFile?: string } };
const mixtureFile = manifest.dataset?.mixtureFile;
if (mixtureFile === undefined) fail(`${x.models.denoiser}: its manifest names no dataset.mixtureFile: not an exact-score model`);
const mixturePath = join(dirname(x.models.denoiser), mixtureFile);
const mixture = parseMixtureFile(readFileSync(mixturePath, 'utf8'), mixturePath);
if (E.isLeft(mixture)) fail(mixture.left.message);
const m = mixture.right;
const ac = scheduleAlphasCumprod(manifest.diffusion);
const data = await readDpds(x.dataset.spec);
if (E.isLeft(data)) fail(data.left.message);
const indices = selectIndices(data.right.size, x.dataset.skip, x.dataset.max);
if (E.isLeft(indices)) fail(indices.left.message);
const classifier = posteriorK === undefined ? undefined : await loadClassifier(x.models.classifier, { backend: 'onnx' })();
if (classifier !== undefined && E.isLeft(classifier)) fail(classifier.left.message);
const wrapped = classifier === undefined ? undefined : wrapClassifier(classifier.right, m.shape);
if (wrapped !== undefined && E.isLeft(wrapped)) fail(wrapped.left.message);

const outDir = join(flag('--results') ?? 'results', `${x.name}-exact`);
mkdirSync(outDir, { recursive: true });
const cells = flag('--cells');
for (const sigma of x.sigmas) {
  const max = typeof x.certify.sequential.maxRadius === 'number' ? x.certify.sequential.maxRadius : Object.entries(x.certify.sequential.maxRadius).find(([k]) => Number(k) === sigma)?.[1];
  if (max === undefined) fail(`certify.sequential.maxRadius has no entry for sigma ${sigma}`);
  const radii = radiiUpTo(max, { sigma, n0: x.certify.N0, n: x.certify.N, alpha: x.certify.alpha });
  if (E.isLeft(radii)) fail(radii.left.message);
  const members: { id: string; sampler: (image: Float32Array, idx: number) => Sampler<unknown> }[] = [
    { id: `exact-classmass_sigma${sigma}_sequential`, sampler: (image, idx) => classMassSampler(m, ac, x.seed, sigma, image, idx) },
    ...(wrapped === undefined ? [] : [{ id: `exact-posterior-K${posteriorK}_sigma${sigma}_sequential`, sampler: (image: Float32Array, idx: number) => posteriorVoteSampler(m, ac, x.seed, sigma, image, idx, posteriorK!, wrapped.right) }]),
  ];
  for (const member of members) {
    if (cells !== undefined && !member.id.includes(cells)) continue;
    const path = join(outDir, `${member.id}.tsv`);
    if (!existsSync(path)) writeFileSync(path, 'idx\tlabel\tpredict\tradius\tcorrect\ttime\n');
    const done = new Set(readFileSync(path, 'utf8').split('\n').slice(1).filter((l) => l.split('\t').length === 6).map((l) => Number(l.split('\t')[0])));
    for (const idx of indices.right) {
      if (done.has(idx)) continue;
      const sample = data.right.get(idx);
      const started = performance.now();
      const r = await certifySequential(member.sampler(sample.image, idx), {
        sigma,
        n0: x.certify.N0,
        nMax: x.certify.N,
        alpha: x.certify.alpha,
        radii: radii.right,
        numClasses: m.classNames.length,
        batchSize: x.batch,
      });
      if (E.isLeft(r)) fail(`${member.id} image ${idx}: ${JSON.stringify(r.left)}`);
      const predict = r.right.kind === 'certified' ? r.right.label : -1;
      const radius = r.right.kind === 'certified' ? r.right.radius : 0;
      const seconds = (performance.now() - started) / 1000;
      appendFileSync(path, `${idx}\t${sample.label}\t${predict}\t${radius.toFixed(6)}\t${predict === sample.label ? 1 : 0}\t${seconds.toFixed(3)}\n`);
      process.stderr.write(`${member.id} image ${idx}: label ${sample.label} predict ${predict} radius ${radius.toFixed(3)} (${r.right.draws.estimation} draws, ${seconds.toFixed(1)} s)\n`);
    }
  }
}
