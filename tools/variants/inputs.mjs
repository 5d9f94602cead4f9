// Real denoiser inputs for calibration and agreement checks: held-out digits noised as DDS does at sigma
// (x_t = sqrt(abar) (x + 2 sigma eps) in the model's [-1, 1] scale, at the t whose abar is closest to
// 1 / (1 + 4 sigma^2)), on the manifest's linear schedule. Noise from a seeded generator, so reruns agree.
import { either as E } from 'fp-ts';
import { readDpds } from '@densepure/datasets';
import { testSetPath } from '@densepure/zoo-mnist';

const dataset = await readDpds(testSetPath);
if (E.isLeft(dataset)) throw new Error(dataset.left.message);
const images = dataset.right;

export function alphaBars(diffusion) {
  const { T, betaStart = 1e-4, betaEnd = 0.02 } = diffusion;
  const out = [];
  let p = 1;
  for (let t = 0; t < T; t++) {
    p *= 1 - (betaStart + ((betaEnd - betaStart) * t) / (T - 1));
    out.push(p);
  }
  return out;
}

export const tStar = (abar, sigma) => {
  const target = 1 / (1 + 4 * sigma * sigma);
  let best = 0;
  for (let t = 0; t < abar.length; t++) if (Math.abs(abar[t] - target) < Math.abs(abar[best] - target)) best = t;
  return best;
};

function gaussians(seed) {
  let s = seed >>> 0;
  const uniform = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** x [n,1,28,28] and t [n] for the digits at `indices`, each at sigmas[i % sigmas.length]. */
export function noisedDigits(indices, sigmas, diffusion, seed) {
  const abar = alphaBars(diffusion);
  const gauss = gaussians(seed);
  const pixels = 784;
  const x = new Float32Array(indices.length * pixels);
  const t = new BigInt64Array(indices.length);
  indices.forEach((index, i) => {
    const sigma = sigmas[i % sigmas.length];
    const ts = tStar(abar, sigma);
    t[i] = BigInt(ts);
    const image = images.get(index).image;
    for (let k = 0; k < pixels; k++) x[i * pixels + k] = Math.sqrt(abar[ts]) * (2 * image[k] - 1 + 2 * sigma * gauss());
  });
  return { x, t };
}
