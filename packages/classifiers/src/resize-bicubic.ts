/**
 * Antialiased bicubic resize of a CHW image batch, as torch's
 * `F.interpolate(x, size, mode='bicubic', antialias=True, align_corners=False)` (the same filter as PIL's BICUBIC):
 * separable, Keys cubic with a = -0.5, the kernel widened by the scale when shrinking, weights renormalised at the
 * borders, no clamping of the result. Diffusion denoised smoothing resizes its purified 32x32 or 256x256 images
 * this way for a 224 ViT or a 512 BEiT.
 */
export function resizeBicubicAntialias(
  src: Float32Array,
  batch: number,
  channels: number,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
): Float32Array {
  const xTaps = taps(inW, outW);
  const yTaps = taps(inH, outH);
  const out = new Float32Array(batch * channels * outH * outW);
  const rows = new Float64Array(inH * outW); // horizontal pass of one plane
  for (let plane = 0; plane < batch * channels; plane++) {
    const base = plane * inH * inW;
    for (let y = 0; y < inH; y++) {
      const row = base + y * inW;
      for (let x = 0; x < outW; x++) {
        const start = xTaps.start[x]!;
        const size = xTaps.size[x]!;
        const w0 = x * xTaps.width;
        let acc = 0;
        for (let j = 0; j < size; j++) acc += src[row + start + j]! * xTaps.weights[w0 + j]!;
        rows[y * outW + x] = acc;
      }
    }
    const outBase = plane * outH * outW;
    for (let y = 0; y < outH; y++) {
      const start = yTaps.start[y]!;
      const size = yTaps.size[y]!;
      const w0 = y * yTaps.width;
      for (let x = 0; x < outW; x++) {
        let acc = 0;
        for (let j = 0; j < size; j++) acc += rows[(start + j) * outW + x]! * yTaps.weights[w0 + j]!;
        out[outBase + y * outW + x] = acc;
      }
    }
  }
  return out;
}

/** Keys' cubic convolution kernel with a = -0.5 (torch's and PIL's antialiased bicubic). */
function cubic(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

interface Taps {
  readonly start: Int32Array;
  readonly size: Int32Array;
  /** `width` weights per output index (the unused tail is 0). */
  readonly weights: Float64Array;
  readonly width: number;
}

/** Source window and normalised weights of every output index along one axis (torch's _compute_weights_aa). */
function taps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const support = scale >= 1 ? 2 * scale : 2;
  const invscale = scale >= 1 ? 1 / scale : 1;
  const width = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const size = new Int32Array(outSize);
  const weights = new Float64Array(outSize * width);
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    // C++ truncation toward zero of non-negative values, then clamped to the image
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xsize = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    start[i] = xmin;
    size[i] = xsize;
    let total = 0;
    for (let j = 0; j < xsize; j++) {
      const w = cubic((j + xmin - center + 0.5) * invscale);
      weights[i * width + j] = w;
      total += w;
    }
    if (total !== 0) for (let j = 0; j < xsize; j++) weights[i * width + j]! /= total;
  }
  return { start, size, weights, width };
}
