// node packages/ground-truth/dist/study/mnist-gmm.js [MODELS_DIR]: the shipped exact-score MNIST models from
// their mixture file (default packages/ground-truth/models/mnist-gmm): the exact eps model and the exact Bayes
// classifier (ONNX + manifests, the mixture referenced by file and hash), and the points the study certifies,
// drawn from the mixture (DPDS, 8-bit pixels). Deterministic: rerunning rewrites the same bytes.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { either as E } from 'fp-ts';
import { encodeDpds } from '@densepure/datasets';
import { bayesLabel, sampleMixture } from '../mixture.js';
import { mixtureFileRecord, parseMixtureFile } from '../mixture-file.js';
import { writeGroundTruthModels } from '../onnx-models.js';

/** The diffusion the shipped MNIST denoiser uses (packages/zoo-mnist/models/denoiser.json): the certify path's. */
export const MNIST_SCHEDULE = { schedule: 'linear', T: 1000 } as const;
const MIXTURE_FILE = 'mnist-gmm.mixture.json';
const POINTS = 1000;
const SEED = 0;

function fail(message: string): never {
  process.stderr.write(`mnist-gmm: ${message}\n`);
  process.exit(1);
}

const dir = resolve(process.argv[2] ?? join('packages', 'ground-truth', 'models', 'mnist-gmm'));
let text: string;
try {
  text = readFileSync(join(dir, MIXTURE_FILE), 'utf8');
} catch {
  fail(`cannot read ${join(dir, MIXTURE_FILE)}: make it with /usr/bin/python3 tools/ground-truth/fit_mnist_mixture.py --out ${join(dir, MIXTURE_FILE)}`);
}
const parsed = parseMixtureFile(text, MIXTURE_FILE);
if (E.isLeft(parsed)) fail(parsed.left.message);
const m = parsed.right;
await writeGroundTruthModels(dir, m, MNIST_SCHEDULE, 'mnist-gmm', mixtureFileRecord(m, MIXTURE_FILE, text));

// Points: mixture samples as 8-bit images, pixel = round(255 clip((x0 + 1) / 2, 0, 1)) / 255, as MNIST's own are.
// The Gaussian components put some mass outside [-1, 1] (a pixel's values are near-binary in MNIST, Gaussian here);
// the pipeline clips there too (x0 predictions, the purified image), so the classifiers only ever see [0, 1].
const d = m.dim;
const s = sampleMixture(m, POINTS, SEED, 0);
const pixels = new Float32Array(POINTS * d);
const labels = Uint8Array.from(s.labels);
let clipped = 0;
let bayesRight = 0;
const stored = new Float64Array(d);
for (let i = 0; i < POINTS; i++) {
  for (let j = 0; j < d; j++) {
    const p = (s.points[i * d + j]! + 1) / 2;
    if (p < 0 || p > 1) clipped++;
    pixels[i * d + j] = Math.round(255 * Math.min(1, Math.max(0, p))) / 255;
    stored[j] = 2 * pixels[i * d + j]! - 1;
  }
  if (bayesLabel(m, stored) === labels[i]) bayesRight++;
}
const data = encodeDpds(pixels, labels, m.shape, m.classNames.length);
writeFileSync(join(dir, 'mnist-gmm-points.bin'), data);
const summary = {
  file: 'mnist-gmm-points.bin',
  count: POINTS,
  seed: SEED,
  note: 'sampleMixture(mixture, 1000, seed 0, stream 0) as 8-bit images: pixel = round(255 clip((x0 + 1) / 2, 0, 1)) / 255; label = the class of the component that drew the point',
  pixelsClipped: clipped / (POINTS * d),
  bayesAccuracyOnStoredPoints: bayesRight / POINTS,
};
writeFileSync(join(dir, 'mnist-gmm-points.json'), `${JSON.stringify(summary, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(summary)}\n`);
