// Resize: nearest (every nearest_mode) and linear, with every coordinate transformation mode but
// tf_crop_and_resize, as gathers along each resized axis; H/W-only resizes use tf.image when it samples exactly
// where ONNX does.
import { type Value, floats, ints, normAxis, shapeOf, wrapNHWC } from '../values.js';
import { type OpCompiler, type OpEntry, type RunContext, type TF4, attrInt, attrInts, attrString, out, present, req } from './kernel.js';

const resize: OpCompiler = (node, c) => {
  const mode = attrString(node, 'mode', 'nearest');
  if (mode !== 'nearest' && mode !== 'linear') throw new Error(`Resize node '${node.name}': mode '${mode}' is not supported (nearest, linear are)`);
  if (attrInt(node, 'antialias', 0) === 1) throw new Error(`Resize node '${node.name}': antialias is not supported`);
  const coord = attrString(node, 'coordinate_transformation_mode', c.opset >= 11 ? 'half_pixel' : 'asymmetric');
  const known = ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_half_pixel_for_nn'];
  if (!known.includes(coord)) throw new Error(`Resize node '${node.name}': coordinate_transformation_mode '${coord}' is not supported (${known.join(', ')} are)`);
  const nearestMode = attrString(node, 'nearest_mode', 'round_prefer_floor');
  const axesAttr = attrInts(node, 'axes');
  return (inputs, ctx) => {
    const tf = ctx.tf;
    const xv = req(inputs, 0, node);
    const inShape = shapeOf(xv);
    const rank = inShape.length;
    const axes = (axesAttr ?? Array.from({ length: rank }, (_, i) => i)).map((a) => normAxis(a, rank));
    const scalesIn = c.opset >= 11 ? inputs[2] : inputs[1];
    const sizesIn = c.opset >= 11 ? inputs[3] : undefined;
    const outShape = [...inShape];
    const scales = inShape.map(() => 1);
    if (present(sizesIn)) {
      ints(sizesIn).forEach((n, k) => {
        const a = axes[k] as number;
        outShape[a] = n;
        scales[a] = n / (inShape[a] as number);
      });
    } else if (present(scalesIn)) {
      floats(scalesIn).forEach((s, k) => {
        const a = axes[k] as number;
        scales[a] = s;
        outShape[a] = Math.floor((inShape[a] as number) * s);
      });
    } else {
      throw new Error(`Resize node '${node.name}' gives neither scales nor sizes`);
    }
    const origin = (x: number, a: number): number => {
      const inLen = inShape[a] as number;
      const outLen = outShape[a] as number;
      const s = scales[a] as number;
      switch (coord) {
        case 'asymmetric':
          return x / s;
        case 'align_corners':
          return outLen === 1 ? 0 : (x * (inLen - 1)) / (outLen - 1);
        case 'pytorch_half_pixel':
          return outLen > 1 ? (x + 0.5) / s - 0.5 : 0;
        case 'tf_half_pixel_for_nn':
          return (x + 0.5) / s;
        default:
          return (x + 0.5) / s - 0.5;
      }
    };
    const round = (v: number): number => {
      switch (nearestMode) {
        case 'floor':
          return Math.floor(v);
        case 'ceil':
          return Math.ceil(v);
        case 'round_prefer_ceil':
          return Math.round(v);
        default:
          return v - Math.floor(v) === 0.5 ? Math.floor(v) : Math.round(v);
      }
    };
    // Fast path: only H and W change, and tf.image's resize computes exactly the ONNX sample positions.
    if (rank === 4 && outShape[0] === inShape[0] && outShape[1] === inShape[1] && scales[0] === 1 && scales[1] === 1) {
      const fast = imageResize(ctx, xv, inShape, outShape, scales, mode, coord, (x, a) => Math.max(0, Math.min((inShape[a] as number) - 1, round(origin(x, a)))));
      if (fast !== null) return [fast];
    }
    let t = ctx.tensor(xv);
    for (let a = 0; a < rank; a++) {
      const inLen = inShape[a] as number;
      const outLen = outShape[a] as number;
      if (outLen === inLen && scales[a] === 1) continue;
      if (mode === 'nearest') {
        const idx = Array.from({ length: outLen }, (_, x) => Math.max(0, Math.min(inLen - 1, round(origin(x, a)))));
        t = tf.gather(t, tf.tensor1d(idx, 'int32'), a);
      } else {
        const lo: number[] = [];
        const hi: number[] = [];
        const w: number[] = [];
        for (let x = 0; x < outLen; x++) {
          const o = Math.max(0, Math.min(inLen - 1, origin(x, a)));
          const f = Math.floor(o);
          lo.push(f);
          hi.push(Math.min(inLen - 1, f + 1));
          w.push(o - f);
        }
        const wShape = new Array<number>(rank).fill(1);
        wShape[a] = outLen;
        const tl = tf.gather(t, tf.tensor1d(lo, 'int32'), a);
        const th = tf.gather(t, tf.tensor1d(hi, 'int32'), a);
        t = tf.add(tl, tf.mul(tf.sub(th, tl), tf.tensor(w, wShape, 'float32')));
      }
    }
    return [out(ctx, t === ctx.tensor(xv) ? tf.clone(t) : t, xv.dtype)];
  };
};

/**
 * Resize of H and W with tf.image (channels-last), when it samples exactly where ONNX does: for nearest the
 * source index lists must agree; for linear, the coordinate mode must have a tf.image equivalent and the
 * scales must be out/in (tf.image derives its ratio from the sizes).
 */
function imageResize(
  ctx: RunContext,
  xv: Value,
  inShape: readonly number[],
  outShape: readonly number[],
  scales: readonly number[],
  mode: string,
  coord: string,
  nearestIndex: (x: number, axis: number) => number,
): Value | null {
  const tf = ctx.tf;
  const size: [number, number] = [outShape[2] as number, outShape[3] as number];
  if (mode === 'nearest') {
    const tfIndex = (x: number, a: number, alignCorners: boolean, halfPixel: boolean): number => {
      const inLen = inShape[a] as number;
      const outLen = outShape[a] as number;
      const ratio = alignCorners && outLen > 1 ? (inLen - 1) / (outLen - 1) : inLen / outLen;
      const frac = halfPixel ? ratio * (x + 0.5) : ratio * x;
      const i = Math.min(inLen - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
      return halfPixel ? Math.max(0, i) : i;
    };
    for (const [alignCorners, halfPixel] of [[false, false], [false, true], [true, false]] as const) {
      let same = true;
      for (const a of [2, 3]) {
        for (let x = 0; x < (outShape[a] as number) && same; x++) same = nearestIndex(x, a) === tfIndex(x, a, alignCorners, halfPixel);
      }
      if (same) return wrapNHWC(tf.image.resizeNearestNeighbor(ctx.nhwc(xv) as TF4, size, alignCorners, halfPixel), xv.dtype);
    }
    return null;
  }
  const exact = [2, 3].every((a) => Math.abs((scales[a] as number) - (outShape[a] as number) / (inShape[a] as number)) < 1e-7);
  if (!exact) return null;
  const oneOut = (outShape[2] as number) === 1 || (outShape[3] as number) === 1;
  if (coord === 'half_pixel' || (coord === 'pytorch_half_pixel' && !oneOut)) {
    return wrapNHWC(tf.image.resizeBilinear(ctx.nhwc(xv) as TF4, size, false, true), xv.dtype);
  }
  if (coord === 'align_corners') return wrapNHWC(tf.image.resizeBilinear(ctx.nhwc(xv) as TF4, size, true, false), xv.dtype);
  if (coord === 'asymmetric') return wrapNHWC(tf.image.resizeBilinear(ctx.nhwc(xv) as TF4, size, false, false), xv.dtype);
  return null;
}

export const RESIZE_OPS: readonly OpEntry[] = [
  {
    op: 'Resize',
    compile: resize,
    note: 'nearest: every nearest_mode; nearest and linear: half_pixel, pytorch_half_pixel, align_corners, asymmetric, tf_half_pixel_for_nn',
  },
];
