/**
 * Bilinear resize of a CHW image batch, with torch's `F.interpolate(mode='bilinear', align_corners=False)`
 * sampling (half-pixel centres, edge clamping, no antialiasing), so resized inputs match what a PyTorch
 * pipeline would feed the classifier.
 */
export function resizeBilinear(
  src: Float32Array,
  batch: number,
  channels: number,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
): Float32Array {
  const out = new Float32Array(batch * channels * outH * outW);
  const sy = inH / outH;
  const sx = inW / outW;
  // Precompute the x taps once; they are the same for every row and plane.
  const x0s = new Int32Array(outW);
  const x1s = new Int32Array(outW);
  const wxs = new Float32Array(outW);
  for (let x = 0; x < outW; x++) {
    const fx = Math.max(0, (x + 0.5) * sx - 0.5);
    const x0 = Math.min(Math.floor(fx), inW - 1);
    x0s[x] = x0;
    x1s[x] = Math.min(x0 + 1, inW - 1);
    wxs[x] = fx - x0;
  }
  for (let plane = 0; plane < batch * channels; plane++) {
    const base = plane * inH * inW;
    const outBase = plane * outH * outW;
    for (let y = 0; y < outH; y++) {
      const fy = Math.max(0, (y + 0.5) * sy - 0.5);
      const y0 = Math.min(Math.floor(fy), inH - 1);
      const y1 = Math.min(y0 + 1, inH - 1);
      const wy = fy - y0;
      for (let x = 0; x < outW; x++) {
        const x0 = x0s[x]!, x1 = x1s[x]!, wx = wxs[x]!;
        const top = src[base + y0 * inW + x0]! * (1 - wx) + src[base + y0 * inW + x1]! * wx;
        const bottom = src[base + y1 * inW + x0]! * (1 - wx) + src[base + y1 * inW + x1]! * wx;
        out[outBase + y * outW + x] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return out;
}

/** Copies a 1-channel batch into 3 identical channels (grey images for an RGB classifier). */
export function greyToRgb(src: Float32Array, batch: number, pixels: number): Float32Array {
  const out = new Float32Array(batch * 3 * pixels);
  for (let b = 0; b < batch; b++) {
    const plane = src.subarray(b * pixels, (b + 1) * pixels);
    for (let c = 0; c < 3; c++) out.set(plane, (b * 3 + c) * pixels);
  }
  return out;
}

/**
 * In place: maps [0, 1] to the model's value range, then (x - mean[c]) / std[c] per channel when the
 * normalisation is not part of the graph.
 */
export function applyRangeAndNormalization(
  x: Float32Array,
  batch: number,
  channels: number,
  pixels: number,
  range: readonly [number, number],
  normalization: { readonly mean: readonly number[]; readonly std: readonly number[]; readonly appliedInGraph: boolean },
): void {
  const [lo, hi] = range;
  const span = hi - lo;
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < channels; c++) {
      const mean = normalization.appliedInGraph ? 0 : (normalization.mean[c] ?? 0);
      const std = normalization.appliedInGraph ? 1 : (normalization.std[c] ?? 1);
      const start = (b * channels + c) * pixels;
      for (let i = start; i < start + pixels; i++) x[i] = (lo + span * x[i]! - mean) / std;
    }
  }
}

/** Index of the largest value in each row; ties go to the smallest index. */
export function argmaxRows(values: Float32Array, rows: number, cols: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    let bestValue = values[r * cols]!;
    for (let c = 1; c < cols; c++) {
      const v = values[r * cols + c]!;
      if (v > bestValue) {
        bestValue = v;
        best = c;
      }
    }
    out[r] = best;
  }
  return out;
}
