// Convolutions and pools. ONNX is NCHW; tfjs convolves channels-last, so 2-D inputs are taken as NHWC
// (RunContext.nhwc) and results are left channels-last for the layout-agnostic ops that follow. 1-D ops run
// as 2-D with H = 1.
import type { NodeIR } from '../proto.js';
import { type Tensor, type Tf, isNHWC, shapeOf, wrapNHWC } from '../values.js';
import { type ConvPadding, type OpCompiler, type OpEntry, type TF4, attrInt, attrInts, attrString, out, present, req } from './kernel.js';

interface ConvGeometry {
  readonly pads: [number, number, number, number]; // top, left, bottom, right
  readonly strides: [number, number];
  readonly dilations: [number, number];
}

/** Conv/pool geometry for 2-D (1-D inputs are run as H = 1). */
function geometry(node: NodeIR, kernel: readonly number[], inH: number, inW: number, oneD: boolean): ConvGeometry {
  const lift = (v: number[] | undefined, dflt: number, n: number): number[] =>
    v === undefined ? new Array<number>(n).fill(dflt) : oneD ? (n === 2 ? [dflt, ...v] : [0, v[0] ?? 0, 0, v[1] ?? 0]) : v;
  const strides = lift(attrInts(node, 'strides'), 1, 2) as [number, number];
  const dilations = lift(attrInts(node, 'dilations'), 1, 2) as [number, number];
  // ONNX pads are [x1_begin, x2_begin, x1_end, x2_end]; a 1-D op's [begin, end] goes on W.
  let pads = lift(attrInts(node, 'pads'), 0, 4);
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const k = [kernel[0] ?? 1, kernel[1] ?? 1];
    const ins = [inH, inW];
    const p = [0, 0, 0, 0];
    for (let i = 0; i < 2; i++) {
      const outSize = Math.ceil((ins[i] as number) / (strides[i] as number));
      const total = Math.max(0, (outSize - 1) * (strides[i] as number) + ((k[i] as number) - 1) * (dilations[i] as number) + 1 - (ins[i] as number));
      const small = Math.floor(total / 2);
      p[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      p[i + 2] = total - (p[i] as number);
    }
    pads = p;
  } else if (autoPad === 'VALID') {
    pads = [0, 0, 0, 0];
  }
  return { pads: pads as [number, number, number, number], strides, dilations };
}

/**
 * Whether convolutions get ONNX's pads as tfjs explicit padding (verified against onnxruntime on the wasm and
 * cpu backends) or as a tf.pad before a 'valid' conv (any other backend, e.g. tfjs-node's 'tensorflow').
 */
const explicitPaddingWorks = (tf: Tf, mode: ConvPadding): boolean => (mode === 'auto' ? ['wasm', 'cpu'].includes(tf.getBackend()) : mode === 'explicit');

const explicitPad = (g: ConvGeometry): [[number, number], [number, number], [number, number], [number, number]] => [
  [0, 0],
  [g.pads[0], g.pads[2]],
  [g.pads[1], g.pads[3]],
  [0, 0],
];

const conv: OpCompiler = (node, c) => {
  const group = attrInt(node, 'group', 1);
  const padding = c.options?.convPadding ?? 'auto';
  const wStatic = c.staticInput(1);
  const bStatic = c.staticInput(2);
  // Filters in tfjs layout, per group: [kH, kW, inPerGroup, outPerGroup]; depthwise: [kH, kW, C, multiplier].
  const layout = (w: Tensor): { filters: Tensor[]; depthwise: Tensor | null } => {
    const tf = c.tf;
    const w4 = w.rank === 3 ? tf.expandDims(w, 2) : w; // Conv1d: [O, I, k] -> [O, I, 1, k]
    const [o, ipg, kh, kw] = w4.shape as [number, number, number, number];
    if (group === 1) return { filters: [tf.transpose(w4, [2, 3, 1, 0])], depthwise: null };
    if (ipg === 1 && o % group === 0) {
      return { filters: [], depthwise: tf.transpose(tf.reshape(w4, [group, o / group, kh, kw]), [2, 3, 0, 1]) };
    }
    return { filters: tf.split(w4, group, 0).map((wg) => tf.transpose(wg, [2, 3, 1, 0])), depthwise: null };
  };
  let prepared: { filters: Tensor[]; depthwise: Tensor | null } | null = null;
  if (wStatic !== undefined) {
    c.tf.engine().startScope();
    const l = layout(c.tensor(wStatic));
    const all = [...l.filters, ...(l.depthwise === null ? [] : [l.depthwise])];
    c.tf.engine().endScope(all);
    all.forEach((t) => c.keep(c.tf.keep(t)));
    prepared = l;
  }
  // A static bias is uploaded (and kept) once by c.tensor.
  const bias = bStatic === undefined ? undefined : c.tensor(bStatic);
  return (inputs, ctx) => {
    const tf = ctx.tf;
    const xv = req(inputs, 0, node);
    const rank = shapeOf(xv).length;
    const w = req(inputs, 1, node);
    const oneD = rank === 3;
    if (rank !== 4 && !oneD) throw new Error(`Conv node '${node.name}': only 1-D and 2-D convolutions are supported, input has rank ${rank}`);
    const f = prepared ?? layout(ctx.tensor(w));
    const b = bias ?? (present(inputs[2]) ? ctx.tensor(inputs[2]) : undefined);
    // 2-D: run channels-last and leave the result so; 1-D: [N,C,L] -> [N,1,L,C] and back.
    const xh = oneD ? tf.expandDims(tf.transpose(ctx.tensor(xv), [0, 2, 1]), 1) : ctx.nhwc(xv);
    const wShape = shapeOf(w);
    const kernel = oneD ? [1, wShape[2] ?? 1] : [wShape[2] ?? 1, wShape[3] ?? 1];
    const g = geometry(node, kernel, xh.shape[1] as number, xh.shape[2] as number, oneD);
    if ((g.strides[0] > 1 || g.strides[1] > 1) && (g.dilations[0] > 1 || g.dilations[1] > 1)) {
      throw new Error(`Conv node '${node.name}': strides > 1 together with dilations > 1 is not supported by tfjs`);
    }
    let pad: ReturnType<typeof explicitPad> | 'valid' = explicitPad(g);
    let xin = xh;
    if (!explicitPaddingWorks(tf, padding)) {
      // Pad first, then a 'valid' conv: for backends whose explicit-padding support is not verified here.
      if (g.pads.some((p) => p > 0)) xin = tf.pad(xh, pad);
      pad = 'valid';
    }
    let y: Tensor;
    if (f.depthwise !== null) {
      y = tf.depthwiseConv2d(xin as TF4, f.depthwise as TF4, g.strides, pad, 'NHWC', g.dilations);
      if (b !== undefined) y = tf.add(y, b);
    } else if (f.filters.length === 1) {
      y = tf.fused.conv2d({ x: xin as TF4, filter: f.filters[0] as TF4, strides: g.strides, pad, dataFormat: 'NHWC', dilations: g.dilations, ...(b === undefined ? {} : { bias: b }) });
    } else {
      const xs = tf.split(xin, group, 3);
      y = tf.concat(xs.map((xg, i) => tf.conv2d(xg as TF4, f.filters[i] as TF4, g.strides, pad, 'NHWC', g.dilations)), 3);
      if (b !== undefined) y = tf.add(y, b);
    }
    return [oneD ? out(ctx, tf.transpose(tf.squeeze(y, [1]), [0, 2, 1]), 'float32') : wrapNHWC(y)];
  };
};

const convTranspose: OpCompiler = (node, c) => {
  if (attrInt(node, 'group', 1) !== 1) throw new Error(`ConvTranspose node '${node.name}': group > 1 is not supported`);
  const dil = attrInts(node, 'dilations');
  if (dil !== undefined && dil.some((d) => d !== 1)) throw new Error(`ConvTranspose node '${node.name}': dilations > 1 are not supported`);
  const wStatic = c.staticInput(1);
  const filter = wStatic === undefined ? undefined : c.keep(c.tf.keep(c.tf.tidy(() => c.tf.transpose(c.tensor(wStatic), [2, 3, 1, 0]))));
  return (inputs, ctx) => {
    const tf = ctx.tf;
    const xv = req(inputs, 0, node);
    const xs = shapeOf(xv);
    if (xs.length !== 4) throw new Error(`ConvTranspose node '${node.name}': only 2-D is supported, input has rank ${xs.length}`);
    const f = filter ?? tf.transpose(ctx.tensor(req(inputs, 1, node)), [2, 3, 1, 0]);
    const [kh, kw, cout] = f.shape as [number, number, number, number];
    const [n, , h, w] = xs as [number, number, number, number];
    const strides = (attrInts(node, 'strides') ?? [1, 1]) as [number, number];
    const outPad = attrInts(node, 'output_padding') ?? [0, 0];
    const fullH = (h - 1) * strides[0] + kh;
    const fullW = (w - 1) * strides[1] + kw;
    let pads = attrInts(node, 'pads') ?? [0, 0, 0, 0];
    const outputShape = attrInts(node, 'output_shape');
    const autoPad = attrString(node, 'auto_pad', 'NOTSET');
    if (outputShape !== undefined || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const target = outputShape ?? [h * strides[0], w * strides[1]];
      const total = [fullH + (outPad[0] ?? 0) - (target[0] ?? 0), fullW + (outPad[1] ?? 0) - (target[1] ?? 0)];
      pads =
        autoPad === 'SAME_UPPER'
          ? [Math.floor((total[0] ?? 0) / 2), Math.floor((total[1] ?? 0) / 2), (total[0] ?? 0) - Math.floor((total[0] ?? 0) / 2), (total[1] ?? 0) - Math.floor((total[1] ?? 0) / 2)]
          : [(total[0] ?? 0) - Math.floor((total[0] ?? 0) / 2), (total[1] ?? 0) - Math.floor((total[1] ?? 0) / 2), Math.floor((total[0] ?? 0) / 2), Math.floor((total[1] ?? 0) / 2)];
    }
    let y = tf.conv2dTranspose(ctx.nhwc(xv) as TF4, f as TF4, [n, fullH, fullW, cout], strides, 'valid');
    const [pt = 0, pl = 0, pb = 0, pr = 0] = pads;
    const ph = (outPad[0] ?? 0) - pb;
    const pw = (outPad[1] ?? 0) - pr;
    // Negative end padding crops; positive (output_padding) appends rows that only the bias reaches.
    y = tf.slice(y, [0, pt, pl, 0], [n, fullH - pt + Math.min(0, ph), fullW - pl + Math.min(0, pw), cout]);
    if (ph > 0 || pw > 0) y = tf.pad(y, [[0, 0], [0, Math.max(0, ph)], [0, Math.max(0, pw)], [0, 0]]);
    if (present(inputs[2])) y = tf.add(y, ctx.tensor(inputs[2]));
    return [wrapNHWC(y)];
  };
};

function pool(kind: 'max' | 'avg'): OpCompiler {
  return (node) => {
    const k = attrInts(node, 'kernel_shape');
    if (k === undefined) throw new Error(`${node.op} node '${node.name}' has no kernel_shape`);
    const dil = attrInts(node, 'dilations');
    if (dil !== undefined && dil.some((d) => d !== 1)) throw new Error(`${node.op} node '${node.name}': dilations > 1 are not supported`);
    if (node.outputs.length > 1 && node.outputs[1] !== '') throw new Error(`${node.op} node '${node.name}': the Indices output is not supported`);
    const ceil = attrInt(node, 'ceil_mode', 0) === 1;
    const includePad = attrInt(node, 'count_include_pad', 0) === 1;
    return (inputs, ctx) => {
      const tf = ctx.tf;
      const xv = req(inputs, 0, node);
      const rank = shapeOf(xv).length;
      const oneD = rank === 3;
      if (rank !== 4 && !oneD) throw new Error(`${node.op} node '${node.name}': only 1-D and 2-D pooling is supported`);
      const xh = oneD ? tf.expandDims(tf.transpose(ctx.tensor(xv), [0, 2, 1]), 1) : ctx.nhwc(xv);
      const kernel = (oneD ? [1, k[0] ?? 1] : k) as [number, number];
      const [, h, w] = xh.shape as [number, number, number, number];
      const g = geometry(node, kernel, h, w, oneD);
      const ins = [h, w];
      const extra = [0, 0];
      for (let i = 0; i < 2; i++) {
        const padded = (ins[i] as number) + (g.pads[i] as number) + (g.pads[i + 2] as number);
        const span = padded - (kernel[i] as number);
        let o = (ceil ? Math.ceil(span / (g.strides[i] as number)) : Math.floor(span / (g.strides[i] as number))) + 1;
        // A window may not start in the end padding (ONNX/PyTorch ceil_mode rule).
        if (ceil && (o - 1) * (g.strides[i] as number) >= (ins[i] as number) + (g.pads[i] as number)) o--;
        extra[i] = Math.max(0, (o - 1) * (g.strides[i] as number) + (kernel[i] as number) - padded);
      }
      const paddings: [number, number][] = [
        [0, 0],
        [g.pads[0], g.pads[2] + (extra[0] as number)],
        [g.pads[1], g.pads[3] + (extra[1] as number)],
        [0, 0],
      ];
      const any = paddings.some(([a, b]) => a > 0 || b > 0);
      let y: Tensor;
      if (kind === 'max') {
        y = tf.maxPool((any ? tf.pad(xh, paddings, Number.NEGATIVE_INFINITY) : xh) as TF4, kernel, g.strides, 'valid');
      } else {
        y = tf.avgPool((any ? tf.pad(xh, paddings) : xh) as TF4, kernel, g.strides, 'valid');
        if (any) {
          // Divide by the share of each window that counts: the input, plus the explicit pads when
          // count_include_pad; never the extra end padding ceil_mode adds.
          const share = includePad
            ? tf.avgPool(tf.pad(tf.ones([1, h + g.pads[0] + g.pads[2], w + g.pads[1] + g.pads[3], 1]), [[0, 0], [0, extra[0] as number], [0, extra[1] as number], [0, 0]]) as TF4, kernel, g.strides, 'valid')
            : tf.avgPool(tf.pad(tf.ones([1, h, w, 1]), paddings.map((p, i) => (i === 0 || i === 3 ? [0, 0] : p)) as [number, number][]) as TF4, kernel, g.strides, 'valid');
          y = tf.div(y, share);
        }
      }
      return [oneD ? out(ctx, tf.transpose(tf.squeeze(y, [1]), [0, 2, 1]), 'float32') : wrapNHWC(y)];
    };
  };
}

/** GlobalAveragePool / GlobalMaxPool: a mean or max over every spatial axis, kept as size-1 axes. */
function globalPool(kind: 'avg' | 'max'): OpCompiler {
  return (node) => (inputs, ctx) => {
    const reduce = (t: Tensor, axes: number[]): Tensor => (kind === 'avg' ? ctx.tf.mean(t, axes, true) : ctx.tf.max(t, axes, true));
    const xv = req(inputs, 0, node);
    if (isNHWC(xv)) return [wrapNHWC(reduce(ctx.nhwc(xv), [1, 2]))];
    const x = ctx.tensor(xv);
    return [out(ctx, reduce(x, Array.from({ length: x.rank - 2 }, (_, i) => i + 2)), 'float32')];
  };
}

export const CONV_POOL_OPS: readonly OpEntry[] = [
  { op: 'Conv', compile: conv, note: '1-D and 2-D; group, depthwise, pads, strides, dilations, auto_pad' },
  { op: 'ConvTranspose', compile: convTranspose, note: '2-D, group 1' },
  { op: 'MaxPool', compile: pool('max'), note: 'ceil_mode, pads' },
  { op: 'AveragePool', compile: pool('avg') },
  { op: 'GlobalAveragePool', compile: globalPool('avg') },
  { op: 'GlobalMaxPool', compile: globalPool('max') },
];
