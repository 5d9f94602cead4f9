// How far a variant's outputs are from the fp32 model's on real inputs: per sigma, the relative RMS deviation of
// eps and of v (||variant - fp32|| / ||fp32||) and the largest absolute eps deviation.
import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';
import { noisedDigits } from './inputs.mjs';

/** The check's inputs: 30 held-out digits at even indices 0, 66, 132, ... per sigma (calibration uses odd ones). */
export const AGREEMENT_INDICES = Array.from({ length: 30 }, (_, i) => 66 * i);
export const AGREEMENT_SIGMAS = [0.25, 0.5, 1];

const relative = (a, b, channel, perImage) => {
  let diff = 0;
  let norm = 0;
  let max = 0;
  for (let i = 0; i < a.length / (2 * perImage); i++) {
    for (let k = 0; k < perImage; k++) {
      const j = (2 * i + channel) * perImage + k;
      const d = a[j] - b[j];
      diff += d * d;
      norm += a[j] * a[j];
      max = Math.max(max, Math.abs(d));
    }
  }
  return { rel: Math.sqrt(diff / norm), max };
};

/**
 * Per sigma: { sigma, t, eps: relative RMS, v: relative RMS, epsMax }. `tShift` moves the variant's timestep
 * (a check of the check: the wrong timestep must fail any sensible tolerance).
 */
export async function agreement(fp32Path, variantPath, diffusion, { threads = 2, tShift = 0 } = {}) {
  const options = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 3 };
  const [a, b] = await Promise.all([fp32Path, variantPath].map(async (p) => ort.InferenceSession.create(readFileSync(p), options)));
  const rows = [];
  for (const [s, sigma] of AGREEMENT_SIGMAS.entries()) {
    const { x, t } = noisedDigits(AGREEMENT_INDICES, [sigma], diffusion, 100 + s);
    const n = AGREEMENT_INDICES.length;
    const feeds = (times) => ({ x: new ort.Tensor('float32', x, [n, 1, 28, 28]), t: new ort.Tensor('int64', times, [n]) });
    const ya = (await a.run(feeds(t)))[a.outputNames[0]].data;
    const yb = (await b.run(feeds(t.map((v) => v + BigInt(tShift)))))[b.outputNames[0]].data;
    const eps = relative(ya, yb, 0, 784);
    rows.push({ sigma, t: Number(t[0]), eps: eps.rel, v: relative(ya, yb, 1, 784).rel, epsMax: eps.max });
  }
  await Promise.all([a.release(), b.release()]);
  return rows;
}
