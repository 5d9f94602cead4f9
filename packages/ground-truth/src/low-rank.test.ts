import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '@densepure/backend';
import { lowRankMixture } from './examples.js';
import { componentShape, makeMixture, sampleMixture } from './mixture.js';
import { encodeMixtureFile, parseMixtureFile } from './mixture-file.js';
import { bayesClassifierOnnx, epsilonOnnx, scheduleAlphasCumprod } from './onnx-models.js';
import { exactEpsilon, posterior, samplePosterior } from './posterior.js';
import { checkPosterior } from './stats.js';

// The Woodbury closed forms checked against plain dense linear algebra on the full d x d covariances.
const m = lowRankMixture;
const d = m.dim;

function denseCov(k: number, abar: number): number[][] {
  const c = componentShape(m.components[k]!);
  const cov = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? c.iso : 0)));
  for (let q = 0; q < c.along.length; q++) {
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) cov[i]![j] = cov[i]![j]! + (c.along[q]! - c.iso) * c.directions[q * d + i]! * c.directions[q * d + j]!;
  }
  return cov.map((row, i) => row.map((v, j) => abar * v + (i === j ? 1 - abar : 0)));
}

function cholesky(a: number[][]): number[][] {
  const n = a.length;
  const L = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i]![j]!;
      for (let k = 0; k < j; k++) s -= L[i]![k]! * L[j]![k]!;
      L[i]![j] = i === j ? Math.sqrt(s) : s / L[j]![j]!;
    }
  }
  return L;
}

/** Cov^-1 b and log det Cov by Cholesky. */
function solveDense(cov: number[][], b: readonly number[]): { x: number[]; logDet: number } {
  const L = cholesky(cov);
  const n = b.length;
  const y = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i]![k]! * y[k]!;
    y[i] = s / L[i]![i]!;
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= L[k]![i]! * x[k]!;
    x[i] = s / L[i]![i]!;
  }
  return { x, logDet: 2 * L.reduce((acc, row, i) => acc + Math.log(row[i]!), 0) };
}

/** log p_t(x) by dense algebra (no Woodbury). */
function denseLogDensity(abar: number, x: readonly number[]): number {
  const terms = m.components.map((comp, k) => {
    const r = x.map((v, i) => v - Math.sqrt(abar) * comp.mean[i]!);
    const { x: y, logDet } = solveDense(denseCov(k, abar), r);
    return Math.log(comp.weight) - 0.5 * (logDet + r.reduce((acc, v, i) => acc + v * y[i]!, 0) + d * Math.log(2 * Math.PI));
  });
  const max = Math.max(...terms);
  return max + Math.log(terms.reduce((acc, t) => acc + Math.exp(t - max), 0));
}

const ac = scheduleAlphasCumprod({ schedule: 'linear', T: 1000 });

describe('low-rank-plus-isotropic mixture: closed forms against dense linear algebra', () => {
  it('exact eps is -sqrt(1 - abar) times the gradient of the dense log p_t (central differences)', () => {
    const pts = sampleMixture(m, 6, 11).points;
    let worst = 0;
    for (const [n, t] of [5, 120, 400, 800].entries()) {
      const abar = ac[t]!;
      const x = Array.from(pts.subarray(n * d, (n + 1) * d), (v, i) => Math.sqrt(abar) * v + Math.sqrt(1 - abar) * 0.3 * Math.sin(7 * i + n));
      const eps = exactEpsilon(m, abar, x, 1);
      const h = 1e-5;
      for (let i = 0; i < d; i++) {
        const up = [...x];
        const down = [...x];
        up[i] = up[i]! + h;
        down[i] = down[i]! - h;
        const grad = (denseLogDensity(abar, up) - denseLogDensity(abar, down)) / (2 * h);
        worst = Math.max(worst, Math.abs(-Math.sqrt(1 - abar) * grad - eps[i]!) / (1 + Math.abs(eps[i]!)));
      }
    }
    expect(worst).toBeLessThan(1e-5);
  });

  it('the posterior components are Gaussian conditioning: mean mu + sqrt(abar) C C_t^-1 r, covariance C - abar C C_t^-1 C', () => {
    const abar = ac[300]!;
    const x = Array.from(sampleMixture(m, 1, 12).points, (v, i) => Math.sqrt(abar) * v + 0.2 * Math.cos(i));
    const post = posterior(m, abar, x);
    let worstMean = 0;
    let worstCov = 0;
    for (const [k, comp] of m.components.entries()) {
      const C = denseCov(k, 1);
      const Ct = denseCov(k, abar);
      const r = x.map((v, i) => v - Math.sqrt(abar) * comp.mean[i]!);
      const y = solveDense(Ct, r).x;
      for (let i = 0; i < d; i++) {
        const mean = comp.mean[i]! + Math.sqrt(abar) * C[i]!.reduce((acc, c, j) => acc + c * y[j]!, 0);
        worstMean = Math.max(worstMean, Math.abs(mean - post.means[k * d + i]!));
      }
      // Posterior covariance in closed form, as a dense matrix, against C - abar C Ct^-1 C (column by column).
      const shape = post.shapes[k]!;
      for (let j = 0; j < d; j++) {
        const col = solveDense(Ct, C.map((row) => row[j]!)).x;
        for (let i = 0; i < d; i++) {
          const want = C[i]![j]! - abar * C[i]!.reduce((acc, c, l) => acc + c * col[l]!, 0);
          let got = i === j ? shape.iso : 0;
          for (let q = 0; q < shape.along.length; q++) got += (shape.along[q]! - shape.iso) * shape.directions[q * d + i]! * shape.directions[q * d + j]!;
          worstCov = Math.max(worstCov, Math.abs(want - got));
        }
      }
    }
    expect(worstMean).toBeLessThan(1e-10);
    expect(worstCov).toBeLessThan(1e-10);
  });

  // Level and power of the sample checks with low-rank components. n = 4000; Bonferroni over the family at 0.001.
  const n = 4000;
  const abar = ac[250]!;
  const x = Array.from({ length: d }, (_, i) => 0.5 * Math.sqrt(abar) * (m.components[0]!.mean[i]! + m.components[1]!.mean[i]!));

  it('exact samples of the prior and of a posterior pass the checks (level)', () => {
    for (const [what, post, samples] of [
      ['prior (sampleMixture)', posterior(m, 0, x), sampleMixture(m, n, 21).points],
      ['posterior (samplePosterior)', posterior(m, abar, x), samplePosterior(posterior(m, abar, x), d, n, 22)],
    ] as const) {
      const check = checkPosterior(post, samples, n, d);
      expect(check.minPValue, `${what}: smallest of ${check.tests} p-values`).toBeGreaterThan(0.001 / check.tests);
    }
  });

  it('samples whose variances along the directions are 1.5 times too large are rejected (power)', () => {
    const post = posterior(m, abar, x);
    const wrong = { ...post, shapes: post.shapes.map((s) => ({ ...s, along: Array.from(s.along, (v) => 1.5 * v) })) };
    const check = checkPosterior(post, samplePosterior(wrong, d, n, 23), n, d);
    expect(check.minPValue).toBeLessThan(0.001 / check.tests);
  });
});

describe('mixture file', () => {
  it('round-trips a mixture (float32) and names what is wrong in a bad one', () => {
    const text = encodeMixtureFile(m, { note: 'test' });
    const back = parseMixtureFile(text, 'x.json');
    if (E.isLeft(back)) throw new Error(back.left.message);
    expect(back.right.components[1]!.directionVariances).toEqual(m.components[1]!.directionVariances!.map(Math.fround));
    expect(back.right.components[2]!.directions).toBeUndefined();
    const bad = (edit: (j: Record<string, unknown>) => void): string => {
      const j = JSON.parse(text) as Record<string, unknown>;
      edit(j);
      const r = parseMixtureFile(JSON.stringify(j), 'x.json');
      return E.isLeft(r) ? r.left.message : 'accepted';
    };
    expect(bad((j) => (j.data = (j.data as string).slice(0, 40)))).toMatch(/x\.json: data holds 30 bytes but the components need/);
    expect(bad((j) => (j.version = 2))).toMatch(/x\.json: version/);
    // Directions scaled by 2: no longer orthonormal.
    const doubled = Buffer.from(JSON.parse(text).data as string, 'base64');
    for (let i = 16 * 4; i < (16 + 32) * 4; i += 4) doubled.writeFloatLE(2 * doubled.readFloatLE(i), i);
    expect(bad((j) => (j.data = doubled.toString('base64')))).toMatch(/component 0: the rows of directions must be orthonormal/);
    expect(parseMixtureFile('{', 'x.json')).toMatchObject({ left: { kind: 'invalid-mixture', message: expect.stringMatching(/x\.json: not JSON/) } });
    expect(makeMixture({ ...m, components: [{ ...m.components[0]!, directionVariances: undefined }, ...m.components.slice(1)] })).toMatchObject({ left: { message: expect.stringMatching(/component 0: give both directions and directionVariances/) } });
  });

  it('the shipped MNIST models are the graphs of the shipped mixture file', () => {
    const dir = fileURLToPath(new URL('../models/mnist-gmm/', import.meta.url));
    const mixture = parseMixtureFile(readFileSync(`${dir}mnist-gmm.mixture.json`, 'utf8'), 'mnist-gmm.mixture.json');
    if (E.isLeft(mixture)) throw new Error(mixture.left.message);
    const eps = JSON.parse(readFileSync(`${dir}mnist-gmm-eps.json`, 'utf8')) as { sha256: string; diffusion: { schedule: 'linear'; T: number } };
    const bayes = JSON.parse(readFileSync(`${dir}mnist-gmm-bayes.json`, 'utf8')) as { sha256: string };
    expect(sha256Hex(epsilonOnnx(mixture.right, eps.diffusion))).toBe(eps.sha256);
    expect(sha256Hex(bayesClassifierOnnx(mixture.right))).toBe(bayes.sha256);
  });
});
