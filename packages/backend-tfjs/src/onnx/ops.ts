// ONNX operators as tfjs ops. Each entry compiles one node (attributes read once, static weights laid out for
// tfjs once) into a kernel that maps input values to output values. Tensors are NCHW as in ONNX; convolutions
// and pools transpose to tfjs's NHWC around the call. Shape arithmetic on small host arrays stays in JS.
import type { AttrValue, NodeIR } from './proto.js';
import {
  type DType,
  type HostValue,
  type Tensor,
  type Tf,
  type Value,
  HOST_LIMIT,
  broadcastIndex,
  broadcastShapes,
  floats,
  host,
  hostBinary,
  ints,
  isSmallHost,
  normAxis,
  shapeOf,
  sizeOf,
  stridesOf,
  tfDtype,
  isNHWC,
  wrap,
  wrapNHWC,
} from './values.js';

/** What a kernel can use while it runs. */
export interface RunContext {
  readonly tf: Tf;
  /** The value as a tfjs tensor in its logical (ONNX) layout; host arrays are uploaded, static ones once. */
  tensor(v: Value): Tensor;
  /**
   * The value channels-last: a logical [N,C,H,W] as [N,H,W,C]; a lower-rank value that broadcasts against
   * one (a [C,1,1] bias, a [N,C,1,1] embedding) is padded to rank 4 first. Static values are converted once.
   */
  nhwc(v: Value): Tensor;
}

export type Kernel = (inputs: readonly (Value | undefined)[], ctx: RunContext) => Value[];

/** What an op sees when its node is compiled at load time. */
export interface CompileContext extends RunContext {
  readonly opset: number;
  /** The load-time value of input i when it is an initializer, a Constant or folded from them. */
  staticInput(i: number): Value | undefined;
  /** Keeps a tensor made at load time (a re-laid-out weight) until the model is disposed. */
  keep(t: Tensor): Tensor;
}

export type OpCompiler = (node: NodeIR, c: CompileContext) => Kernel;

// ---------------------------------------------------------------------------------------------------------
// attribute helpers

const attr = (node: NodeIR, name: string): AttrValue | undefined => node.attrs.get(name);
const attrInt = (node: NodeIR, name: string, dflt: number): number => {
  const v = attr(node, name);
  return typeof v === 'number' ? v : dflt;
};
const attrFloat = attrInt;
const attrInts = (node: NodeIR, name: string): number[] | undefined => {
  const v = attr(node, name);
  return Array.isArray(v) ? (v as number[]) : typeof v === 'number' ? [v] : undefined;
};
const attrString = (node: NodeIR, name: string, dflt: string): string => {
  const v = attr(node, name);
  return typeof v === 'string' ? v : dflt;
};

const req = (inputs: readonly (Value | undefined)[], i: number, node: NodeIR): Value => {
  const v = inputs[i];
  if (v === undefined) throw new Error(`${node.op} node '${node.name}' needs input ${i}`);
  return v;
};

/** An optional input given as an empty name or an empty tensor counts as absent. */
const present = (v: Value | undefined): v is Value => v !== undefined && sizeOf(shapeOf(v)) > 0;

const out = (ctx: RunContext, v: Tensor, dtype?: DType): Value => wrap(v, dtype);

// ---------------------------------------------------------------------------------------------------------
// elementwise

type HostFn = (x: number, y: number) => number;
type TensorFn = (tf: Tf, a: Tensor, b: Tensor) => Tensor;

function binary(fn: TensorFn, hostFn: HostFn | null, resultDtype?: DType): OpCompiler {
  return () => (inputs, ctx) => {
    const [a, b] = inputs;
    if (a === undefined || b === undefined) throw new Error('binary op needs two inputs');
    const dtype = resultDtype ?? a.dtype;
    if (hostFn !== null && isSmallHost(a) && isSmallHost(b)) {
      const shape = broadcastShapes(a.shape, b.shape);
      if (sizeOf(shape) <= HOST_LIMIT) return [hostBinary(a, b, dtype, hostFn)];
    }
    const outRank = Math.max(shapeOf(a).length, shapeOf(b).length);
    const channelsLast = (isNHWC(a) || isNHWC(b)) && outRank === 4;
    let ta = channelsLast ? ctx.nhwc(a) : ctx.tensor(a);
    let tb = channelsLast ? ctx.nhwc(b) : ctx.tensor(b);
    if (ta.dtype !== tb.dtype && ta.dtype !== 'bool' && tb.dtype !== 'bool') {
      // int64-as-int32 against float (Pow's exponent may differ): compute in float.
      if (ta.dtype !== 'float32') ta = ctx.tf.cast(ta, 'float32');
      if (tb.dtype !== 'float32') tb = ctx.tf.cast(tb, 'float32');
    }
    const r0 = fn(ctx.tf, ta, tb);
    const r = dtype !== 'bool' && r0.dtype !== tfDtype(dtype) ? ctx.tf.cast(r0, tfDtype(dtype)) : r0;
    return [channelsLast ? wrapNHWC(r, dtype) : out(ctx, r, dtype)];
  };
}

const intDiv: TensorFn = (tf, a, b) => {
  if (a.dtype === 'float32') return tf.div(a, b);
  const q = tf.div(tf.cast(a, 'float32'), tf.cast(b, 'float32'));
  return tf.cast(tf.mul(tf.sign(q), tf.floor(tf.abs(q))), 'int32');
};

function unary(fn: (tf: Tf, x: Tensor) => Tensor, hostFn?: (x: number) => number): OpCompiler {
  return () => (inputs, ctx) => {
    const x = inputs[0];
    if (x === undefined) throw new Error('unary op needs an input');
    if (hostFn !== undefined && isSmallHost(x)) return [host(x.dtype, x.shape, Array.from(x.data, hostFn))];
    // Elementwise: a channels-last value stays channels-last.
    if (isNHWC(x)) return [wrapNHWC(fn(ctx.tf, (x as { tensor: Tensor }).tensor), x.dtype)];
    return [out(ctx, fn(ctx.tf, ctx.tensor(x)), x.dtype)];
  };
}

function variadic(fn: TensorFn): OpCompiler {
  return (node) => (inputs, ctx) => {
    const xs = inputs.filter((v): v is Value => v !== undefined);
    if (xs.length === 0) throw new Error(`${node.op} needs inputs`);
    let acc = ctx.tensor(xs[0] as Value);
    for (const v of xs.slice(1)) acc = fn(ctx.tf, acc, ctx.tensor(v));
    return [out(ctx, xs.length === 1 ? ctx.tf.clone(acc) : acc, (xs[0] as Value).dtype)];
  };
}

// ---------------------------------------------------------------------------------------------------------
// convolution and pooling (NCHW in ONNX, NHWC in tfjs)

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
 * `convPadding.mode` forces one way, for tests.
 */
export const convPadding: { mode: 'auto' | 'explicit' | 'pad-first' } = { mode: 'auto' };
const explicitPaddingWorks = (tf: Tf): boolean =>
  convPadding.mode === 'auto' ? ['wasm', 'cpu'].includes(tf.getBackend()) : convPadding.mode === 'explicit';

const explicitPad = (g: ConvGeometry): [[number, number], [number, number], [number, number], [number, number]] => [
  [0, 0],
  [g.pads[0], g.pads[2]],
  [g.pads[1], g.pads[3]],
  [0, 0],
];

const conv: OpCompiler = (node, c) => {
  const group = attrInt(node, 'group', 1);
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
    if (!explicitPaddingWorks(tf)) {
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

type TF4 = import('@tensorflow/tfjs').Tensor4D;

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

// ---------------------------------------------------------------------------------------------------------
// normalisation

/** [C] -> [C, 1, 1, ...] for broadcasting over an NC... tensor of the given rank. */
const channelShape = (tf: Tf, t: Tensor, rank: number): Tensor => tf.reshape(t, [t.size, ...new Array<number>(Math.max(0, rank - 2)).fill(1)]);

const instanceNorm: OpCompiler = (node) => {
  const eps = attrFloat(node, 'epsilon', 1e-5);
  return (inputs, ctx) => {
    const tf = ctx.tf;
    const x = ctx.tensor(req(inputs, 0, node));
    const axes = Array.from({ length: x.rank - 2 }, (_, i) => i + 2);
    const { mean, variance } = tf.moments(x, axes, true);
    const norm = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
    const scale = channelShape(tf, ctx.tensor(req(inputs, 1, node)), x.rank);
    const bias = channelShape(tf, ctx.tensor(req(inputs, 2, node)), x.rank);
    return [out(ctx, tf.add(tf.mul(norm, scale), bias), 'float32')];
  };
};

const groupNorm: OpCompiler = (node) => {
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const groups = attrInt(node, 'num_groups', 1);
  return (inputs, ctx) => {
    const tf = ctx.tf;
    const x = ctx.tensor(req(inputs, 0, node));
    const [n, ch] = x.shape as [number, number];
    const grouped = tf.reshape(x, [n, groups, -1]);
    const { mean, variance } = tf.moments(grouped, [2], true);
    const norm = tf.reshape(tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, eps))), x.shape);
    const expand = (v: Value): Tensor => {
      const t = ctx.tensor(v);
      // opset 18 gives one scale per group, opset 21 one per channel.
      const perChannel = t.size === ch ? t : tf.reshape(tf.tile(tf.reshape(t, [groups, 1]), [1, ch / groups]), [ch]);
      return channelShape(tf, perChannel, x.rank);
    };
    return [out(ctx, tf.add(tf.mul(norm, expand(req(inputs, 1, node))), expand(req(inputs, 2, node))), 'float32')];
  };
};

const batchNorm: OpCompiler = (node, c) => {
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const affine = (scale: Tensor, bias: Tensor, mean: Tensor, variance: Tensor): [Tensor, Tensor] => {
    const tf = c.tf;
    const mult = tf.div(scale, tf.sqrt(tf.add(variance, eps)));
    return [mult, tf.sub(bias, tf.mul(mean, mult))];
  };
  const st = [1, 2, 3, 4].map((i) => c.staticInput(i));
  let fixed: [Tensor, Tensor] | null = null;
  if (st.every((v) => v !== undefined)) {
    const [s, b, m, v] = st as Value[];
    fixed = c.tf.tidy(() => affine(c.tensor(s as Value), c.tensor(b as Value), c.tensor(m as Value), c.tensor(v as Value)).map((t) => c.tf.keep(t)) as [Tensor, Tensor]);
    fixed.forEach((t) => c.keep(t));
  }
  return (inputs, ctx) => {
    const tf = ctx.tf;
    const xv = req(inputs, 0, node);
    const [mult, add] = fixed ?? affine(...([1, 2, 3, 4].map((i) => ctx.tensor(req(inputs, i, node))) as [Tensor, Tensor, Tensor, Tensor]));
    if (isNHWC(xv)) return [wrapNHWC(tf.add(tf.mul(ctx.nhwc(xv), mult), add))];
    const x = ctx.tensor(xv);
    return [out(ctx, tf.add(tf.mul(x, channelShape(tf, mult, x.rank)), channelShape(tf, add, x.rank)), 'float32')];
  };
};

const layerNorm: OpCompiler = (node) => {
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const axis0 = attrInt(node, 'axis', -1);
  return (inputs, ctx) => {
    const tf = ctx.tf;
    const x = ctx.tensor(req(inputs, 0, node));
    const axis = normAxis(axis0, x.rank);
    const axes = Array.from({ length: x.rank - axis }, (_, i) => axis + i);
    const { mean, variance } = tf.moments(x, axes, true);
    const inv = tf.rsqrt(tf.add(variance, eps));
    let y = tf.mul(tf.mul(tf.sub(x, mean), inv), ctx.tensor(req(inputs, 1, node)));
    if (present(inputs[2])) y = tf.add(y, ctx.tensor(inputs[2]));
    return [out(ctx, y, 'float32'), out(ctx, mean, 'float32'), out(ctx, inv, 'float32')];
  };
};

// ---------------------------------------------------------------------------------------------------------
// reductions and softmax

function reduce(fn: (tf: Tf, x: Tensor, axes: number[], keep: boolean) => Tensor, axesInputFrom: number): OpCompiler {
  return (node, c) => (inputs, ctx) => {
    const tf = ctx.tf;
    const x = ctx.tensor(req(inputs, 0, node));
    const keep = attrInt(node, 'keepdims', 1) === 1;
    const fromInput = c.opset >= axesInputFrom;
    const given = fromInput ? (present(inputs[1]) ? ints(inputs[1]) : undefined) : attrInts(node, 'axes');
    if ((given === undefined || given.length === 0) && attrInt(node, 'noop_with_empty_axes', 0) === 1) return [out(ctx, tf.clone(x))];
    const axes = given === undefined || given.length === 0 ? Array.from({ length: x.rank }, (_, i) => i) : given.map((a) => normAxis(a, x.rank));
    return [out(ctx, fn(tf, x, axes, keep), req(inputs, 0, node).dtype)];
  };
}

function softmax(log: boolean): OpCompiler {
  return (node, c) => (inputs, ctx) => {
    const tf = ctx.tf;
    const x = ctx.tensor(req(inputs, 0, node));
    const sm = (t: Tensor): Tensor => (log ? tf.logSoftmax(t) : tf.softmax(t));
    if (c.opset < 13) {
      // Old semantics: flatten to 2-D at `axis` (default 1) and normalise the second part as a whole.
      const axis = normAxis(attrInt(node, 'axis', 1), x.rank);
      const outer = sizeOf(x.shape.slice(0, axis));
      return [out(ctx, tf.reshape(sm(tf.reshape(x, [outer, -1])), x.shape), 'float32')];
    }
    const axis = normAxis(attrInt(node, 'axis', -1), x.rank);
    if (axis === x.rank - 1) return [out(ctx, sm(x), 'float32')];
    const perm = Array.from({ length: x.rank }, (_, i) => i);
    perm[axis] = x.rank - 1;
    perm[x.rank - 1] = axis;
    return [out(ctx, tf.transpose(sm(tf.transpose(x, perm)), perm), 'float32')];
  };
}

// ---------------------------------------------------------------------------------------------------------
// matrix products

const gemm: OpCompiler = (node) => {
  const alpha = attrFloat(node, 'alpha', 1);
  const beta = attrFloat(node, 'beta', 1);
  const transA = attrInt(node, 'transA', 0) === 1;
  const transB = attrInt(node, 'transB', 0) === 1;
  return (inputs, ctx) => {
    const tf = ctx.tf;
    const a = ctx.tensor(req(inputs, 0, node)) as import('@tensorflow/tfjs').Tensor2D;
    const b = ctx.tensor(req(inputs, 1, node)) as import('@tensorflow/tfjs').Tensor2D;
    const cIn = present(inputs[2]) ? ctx.tensor(inputs[2]) : undefined;
    // Not tf.fused.matMul: its bias is wrong on the wasm backend in tfjs 4.22 (with transposeB).
    let y = tf.matMul(a, b, transA, transB);
    if (alpha !== 1) y = tf.mul(y, alpha);
    if (cIn !== undefined) y = tf.add(y, beta === 1 ? cIn : tf.mul(cIn, beta));
    return [out(ctx, y, 'float32')];
  };
};

const matMul: OpCompiler = (node) => (inputs, ctx) => {
  const tf = ctx.tf;
  let a = ctx.tensor(req(inputs, 0, node));
  let b = ctx.tensor(req(inputs, 1, node));
  const aVec = a.rank === 1;
  const bVec = b.rank === 1;
  if (aVec) a = tf.expandDims(a, 0);
  if (bVec) b = tf.expandDims(b, 1);
  let y: Tensor;
  if (a.rank === 2 && b.rank === 2) {
    y = tf.matMul(a, b);
  } else {
    // Broadcast the batch dims explicitly and run one rank-3 batched matMul (tfjs's own broadcasting of
    // mismatched ranks is not reliable on every backend).
    const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const [m, k] = a.shape.slice(-2) as [number, number];
    const n = b.shape[b.rank - 1] as number;
    const n3 = sizeOf(batch);
    const a3 = tf.reshape(tf.broadcastTo(a, [...batch, m, k]), [n3, m, k]) as import('@tensorflow/tfjs').Tensor3D;
    const b3 = tf.reshape(tf.broadcastTo(b, [...batch, k, n]), [n3, k, n]) as import('@tensorflow/tfjs').Tensor3D;
    y = tf.reshape(tf.matMul(a3, b3), [...batch, m, n]);
  }
  if (aVec) y = tf.squeeze(y, [y.rank - 2]);
  if (bVec) y = tf.squeeze(y, [y.rank - 1]);
  return [out(ctx, y, 'float32')];
};

/** Einsum with one or two operands, lowered to transpose + reshape + (batched) matMul. */
const einsum: OpCompiler = (node) => {
  const eq = attrString(node, 'equation', '').replace(/\s+/g, '');
  if (eq.includes('...')) throw new Error(`Einsum node '${node.name}': ellipsis ('...') is not supported (equation '${eq}')`);
  const [lhs = '', rhsGiven] = eq.split('->');
  const operands = lhs.split(',');
  if (operands.length > 2) throw new Error(`Einsum node '${node.name}': more than two operands are not supported (equation '${eq}')`);
  for (const op of operands) if (new Set(op).size !== op.length) throw new Error(`Einsum node '${node.name}': repeated indices within one operand are not supported (equation '${eq}')`);
  const counts = new Map<string, number>();
  for (const ch of lhs.replace(',', '')) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const rhs = rhsGiven ?? [...counts.keys()].filter((k) => counts.get(k) === 1).sort().join('');
  return (inputs, ctx) => {
    const tf = ctx.tf;
    const sumOut = (t: Tensor, labels: string, keep: (ch: string) => boolean): [Tensor, string] => {
      const drop = [...labels].map((ch, i) => (keep(ch) ? -1 : i)).filter((i) => i >= 0);
      return drop.length === 0 ? [t, labels] : [tf.sum(t, drop), [...labels].filter((ch) => keep(ch)).join('')];
    };
    const dims = new Map<string, number>();
    operands.forEach((labels, k) => {
      const s = shapeOf(req(inputs, k, node));
      [...labels].forEach((ch, i) => dims.set(ch, Math.max(dims.get(ch) ?? 1, s[i] ?? 1)));
    });
    const toOut = (t: Tensor, labels: string): Tensor => {
      const perm = [...rhs].map((ch) => labels.indexOf(ch));
      return perm.every((p, i) => p === i) ? tf.clone(t) : tf.transpose(t, perm);
    };
    if (operands.length === 1) {
      const [t, labels] = sumOut(ctx.tensor(req(inputs, 0, node)), operands[0] as string, (ch) => rhs.includes(ch));
      return [out(ctx, toOut(t, labels), 'float32')];
    }
    const [la0, lb0] = operands as [string, string];
    // Indices only in one operand and not in the output are summed away first.
    const [a, la] = sumOut(ctx.tensor(req(inputs, 0, node)), la0, (ch) => rhs.includes(ch) || lb0.includes(ch));
    const [b, lb] = sumOut(ctx.tensor(req(inputs, 1, node)), lb0, (ch) => rhs.includes(ch) || la.includes(ch));
    const batch = [...la].filter((ch) => lb.includes(ch) && rhs.includes(ch));
    const contract = [...la].filter((ch) => lb.includes(ch) && !rhs.includes(ch));
    const freeA = [...la].filter((ch) => !lb.includes(ch));
    const freeB = [...lb].filter((ch) => !la.includes(ch));
    const size = (chs: string[]): number => chs.reduce((p, ch) => p * (dims.get(ch) ?? 1), 1);
    const arrange = (t: Tensor, labels: string, order: string[], shape: number[]): Tensor => {
      const perm = order.map((ch) => labels.indexOf(ch));
      const moved = perm.every((p, i) => p === i) ? t : tf.transpose(t, perm);
      // Broadcast batch dims of size 1 against the other operand.
      const full = order.map((ch) => dims.get(ch) ?? 1);
      const bc = moved.shape.every((d, i) => d === full[i]) ? moved : tf.broadcastTo(moved, full);
      return tf.reshape(bc, shape);
    };
    const a3 = arrange(a, la, [...batch, ...freeA, ...contract], [size(batch), size(freeA), size(contract)]);
    const b3 = arrange(b, lb, [...batch, ...contract, ...freeB], [size(batch), size(contract), size(freeB)]);
    const y = tf.reshape(tf.matMul(a3, b3), [...batch, ...freeA, ...freeB].map((ch) => dims.get(ch) ?? 1));
    return [out(ctx, toOut(y, [...batch, ...freeA, ...freeB].join('')), 'float32')];
  };
};

// ---------------------------------------------------------------------------------------------------------
// shape manipulation (host arrays where small)

function reshapeTo(v: Value, shape: readonly number[], ctx: RunContext): Value {
  if (v.kind === 'host') return { ...v, shape: [...shape] };
  return out(ctx, ctx.tf.reshape(ctx.tensor(v), [...shape]), v.dtype);
}

const reshape: OpCompiler = (node) => (inputs, ctx) => {
  const x = req(inputs, 0, node);
  const inShape = shapeOf(x);
  const allowZero = attrInt(node, 'allowzero', 0) === 1;
  const target = ints(req(inputs, 1, node)).map((d, i) => (d === 0 && !allowZero ? (inShape[i] ?? 0) : d));
  const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const shape = target.map((d) => (d === -1 ? (known === 0 ? 0 : sizeOf(inShape) / known) : d));
  if (sizeOf(shape) !== sizeOf(inShape)) throw new Error(`Reshape node '${node.name}': cannot reshape [${inShape.join(',')}] to [${target.join(',')}]`);
  return [reshapeTo(x, shape, ctx)];
};

const flatten: OpCompiler = (node) => (inputs, ctx) => {
  const x = req(inputs, 0, node);
  const s = shapeOf(x);
  const axis = attrInt(node, 'axis', 1);
  const a = axis < 0 ? axis + s.length : axis;
  return [reshapeTo(x, [sizeOf(s.slice(0, a)), sizeOf(s.slice(a))], ctx)];
};

const unsqueeze: OpCompiler = (node, c) => (inputs, ctx) => {
  const x = req(inputs, 0, node);
  const s = shapeOf(x);
  const axes = c.opset >= 13 ? ints(req(inputs, 1, node)) : (attrInts(node, 'axes') ?? []);
  const rank = s.length + axes.length;
  const at = new Set(axes.map((a) => normAxis(a, rank)));
  const shape: number[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) shape.push(at.has(i) ? 1 : (s[j++] as number));
  return [reshapeTo(x, shape, ctx)];
};

const squeeze: OpCompiler = (node, c) => (inputs, ctx) => {
  const x = req(inputs, 0, node);
  const s = shapeOf(x);
  const given = c.opset >= 13 ? (present(inputs[1]) ? ints(inputs[1]) : undefined) : attrInts(node, 'axes');
  const drop = new Set(given === undefined ? s.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0) : given.map((a) => normAxis(a, s.length)));
  return [reshapeTo(x, s.filter((_, i) => !drop.has(i)), ctx)];
};

const shapeOp: OpCompiler = (node) => (inputs) => {
  const s = shapeOf(req(inputs, 0, node));
  const norm = (v: number): number => Math.max(0, Math.min(s.length, v < 0 ? v + s.length : v));
  const start = norm(attrInt(node, 'start', 0));
  const end = norm(attrInt(node, 'end', s.length));
  const dims = s.slice(start, end);
  return [host('int64', [dims.length], dims)];
};

const sizeOp: OpCompiler = (node) => (inputs) => [host('int64', [], [sizeOf(shapeOf(req(inputs, 0, node)))])];

const transpose: OpCompiler = (node) => (inputs, ctx) => {
  const x = ctx.tensor(req(inputs, 0, node));
  const perm = attrInts(node, 'perm') ?? Array.from({ length: x.rank }, (_, i) => x.rank - 1 - i);
  return [out(ctx, ctx.tf.transpose(x, perm), req(inputs, 0, node).dtype)];
};

const concat: OpCompiler = (node) => (inputs, ctx) => {
  const xs = inputs.filter((v): v is Value => v !== undefined);
  const first = xs[0];
  if (first === undefined) throw new Error(`Concat node '${node.name}' has no inputs`);
  const rank = shapeOf(first).length;
  const axis = normAxis(attrInt(node, 'axis', 0), rank);
  if (rank === 1 && xs.every(isSmallHost)) {
    const data = xs.flatMap((v) => Array.from((v as HostValue).data));
    return [host(first.dtype, [data.length], data)];
  }
  const nonEmpty = xs.filter((v) => sizeOf(shapeOf(v)) > 0);
  if (nonEmpty.length === 0) return [first];
  if (rank === 4 && (axis === 1 || axis === 0) && nonEmpty.some(isNHWC) && nonEmpty.length > 1) {
    // Channels (or batch) of channels-last values: concatenate on the physical axis.
    return [wrapNHWC(ctx.tf.concat(nonEmpty.map((v) => ctx.nhwc(v)), axis === 1 ? 3 : 0), first.dtype)];
  }
  const ts = nonEmpty.map((v) => ctx.tensor(v));
  return [out(ctx, ts.length === 1 ? ctx.tf.clone(ts[0] as Tensor) : ctx.tf.concat(ts, axis), first.dtype)];
};

const split: OpCompiler = (node, c) => (inputs, ctx) => {
  const x = req(inputs, 0, node);
  const s = shapeOf(x);
  const axis = normAxis(attrInt(node, 'axis', 0), s.length);
  const dim = s[axis] as number;
  const n = node.outputs.length;
  let sizes = c.opset >= 13 ? (present(inputs[1]) ? ints(inputs[1]) : undefined) : attrInts(node, 'split');
  if (sizes === undefined) {
    const parts = attrInt(node, 'num_outputs', n);
    const each = Math.ceil(dim / parts);
    sizes = Array.from({ length: parts }, (_, i) => Math.min(each, dim - i * each));
  }
  return ctx.tf.split(ctx.tensor(x), sizes, axis).map((t) => out(ctx, t, x.dtype));
};

/** Index lists per axis for Slice, with ONNX's clamping rules. */
function sliceIndices(shape: readonly number[], starts: number[], ends: number[], axes: number[], steps: number[]): number[][] | null {
  const idx: (number[] | null)[] = shape.map(() => null);
  axes.forEach((a0, k) => {
    const a = normAxis(a0, shape.length);
    const d = shape[a] as number;
    const step = steps[k] ?? 1;
    if (step === 0) throw new Error('Slice step 0');
    let s = starts[k] ?? 0;
    let e = ends[k] ?? d;
    if (s < 0) s += d;
    if (e < 0) e += d;
    const list: number[] = [];
    if (step > 0) {
      s = Math.max(0, Math.min(d, s));
      e = Math.max(0, Math.min(d, e));
      for (let i = s; i < e; i += step) list.push(i);
    } else {
      s = Math.max(-1, Math.min(d - 1, s));
      e = Math.max(-1, Math.min(d - 1, e));
      for (let i = s; i > e; i += step) list.push(i);
    }
    idx[a] = list;
  });
  return idx.map((l, a) => l ?? Array.from({ length: shape[a] as number }, (_, i) => i));
}

/** Gathers host data along every axis at once. */
function hostTake(v: HostValue, idx: number[][]): HostValue {
  const shape = idx.map((l) => l.length);
  const strides = stridesOf(v.shape);
  const outData: number[] = [];
  const rec = (axis: number, base: number): void => {
    if (axis === idx.length) {
      outData.push(v.data[base] as number);
      return;
    }
    for (const i of idx[axis] as number[]) rec(axis + 1, base + i * (strides[axis] as number));
  };
  if (sizeOf(shape) > 0) rec(0, 0);
  return host(v.dtype, shape, outData);
}

const slice: OpCompiler = (node, c) => (inputs, ctx) => {
  const x = req(inputs, 0, node);
  const s = shapeOf(x);
  const fromInputs = c.opset >= 10;
  const starts = fromInputs ? ints(req(inputs, 1, node)) : (attrInts(node, 'starts') ?? []);
  const ends = fromInputs ? ints(req(inputs, 2, node)) : (attrInts(node, 'ends') ?? []);
  const axes = (fromInputs ? (present(inputs[3]) ? ints(inputs[3]) : undefined) : attrInts(node, 'axes')) ?? starts.map((_, i) => i);
  const steps = fromInputs && present(inputs[4]) ? ints(inputs[4]) : axes.map(() => 1);
  const idx = sliceIndices(s, starts, ends, axes, steps) as number[][];
  if (isSmallHost(x)) return [hostTake(x, idx)];
  const tf = ctx.tf;
  let t = ctx.tensor(x);
  const contiguous = idx.map((l) => l.length === 0 || l.every((v, i) => i === 0 || v === (l[i - 1] as number) + 1));
  if (idx.some((l) => l.length === 0)) return [out(ctx, tf.zeros(idx.map((l) => l.length), t.dtype), x.dtype)];
  const begin = idx.map((l, a) => (contiguous[a] ? (l[0] as number) : 0));
  const size = idx.map((l, a) => (contiguous[a] ? l.length : (s[a] as number)));
  t = tf.slice(t, begin, size);
  idx.forEach((l, a) => {
    if (!contiguous[a]) t = tf.gather(t, tf.tensor1d(l, 'int32'), a);
  });
  return [out(ctx, t, x.dtype)];
};

const gather: OpCompiler = (node) => (inputs, ctx) => {
  const x = req(inputs, 0, node);
  const ind = req(inputs, 1, node);
  const s = shapeOf(x);
  const axis = normAxis(attrInt(node, 'axis', 0), s.length);
  const dim = s[axis] as number;
  const indShape = shapeOf(ind);
  if (isSmallHost(x) && ind.kind === 'host') {
    const outer = sizeOf(s.slice(0, axis));
    const inner = sizeOf(s.slice(axis + 1));
    const list = ints(ind).map((i) => (i < 0 ? i + dim : i));
    const data: number[] = [];
    for (let o = 0; o < outer; o++) for (const i of list) for (let k = 0; k < inner; k++) data.push(x.data[(o * dim + i) * inner + k] as number);
    return [host(x.dtype, [...s.slice(0, axis), ...indShape, ...s.slice(axis + 1)], data)];
  }
  const tf = ctx.tf;
  let idx: Tensor;
  if (ind.kind === 'host') {
    idx = tf.tensor(ints(ind).map((i) => (i < 0 ? i + dim : i)), [...indShape], 'int32');
  } else {
    const it = ctx.tensor(ind);
    const raw = it.dtype === 'int32' ? it : tf.cast(it, 'int32');
    idx = tf.where(tf.less(raw, 0), tf.add(raw, tf.scalar(dim, 'int32')), raw);
  }
  const flat = tf.gather(ctx.tensor(x), tf.reshape(idx, [-1]), axis);
  return [out(ctx, tf.reshape(flat, [...s.slice(0, axis), ...indShape, ...s.slice(axis + 1)]), x.dtype)];
};

const expand: OpCompiler = (node) => (inputs, ctx) => {
  const x = req(inputs, 0, node);
  const shape = broadcastShapes(shapeOf(x), ints(req(inputs, 1, node)));
  if (isSmallHost(x) && sizeOf(shape) <= HOST_LIMIT) {
    const ix = broadcastIndex(x.shape, shape);
    return [host(x.dtype, shape, Array.from(ix, (i) => x.data[i] as number))];
  }
  return [out(ctx, ctx.tf.broadcastTo(ctx.tensor(x), shape), x.dtype)];
};

const where: OpCompiler = (node) => (inputs, ctx) => {
  const cond = req(inputs, 0, node);
  const a = req(inputs, 1, node);
  const b = req(inputs, 2, node);
  const shape = broadcastShapes(broadcastShapes(shapeOf(cond), shapeOf(a)), shapeOf(b));
  if (isSmallHost(cond) && isSmallHost(a) && isSmallHost(b) && sizeOf(shape) <= HOST_LIMIT) {
    const [ic, ia, ib] = [cond, a, b].map((v) => broadcastIndex(v.shape, shape)) as [Int32Array, Int32Array, Int32Array];
    return [host(a.dtype, shape, Array.from(ic, (ci, i) => (cond.data[ci] ? a.data[ia[i] as number] : b.data[ib[i] as number]) as number))];
  }
  const tf = ctx.tf;
  const bc = (t: Tensor): Tensor => (t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]) ? t : tf.broadcastTo(t, shape));
  const c0 = ctx.tensor(cond);
  return [out(ctx, tf.where(bc(c0.dtype === 'bool' ? c0 : tf.cast(c0, 'bool')), bc(ctx.tensor(a)), bc(ctx.tensor(b))), a.dtype)];
};

const constantOfShape: OpCompiler = (node) => {
  const v = attr(node, 'value');
  const fill = typeof v === 'object' && !Array.isArray(v) ? v : host('float32', [1], [0]);
  const value = fill.data[0] ?? 0;
  return (inputs, ctx) => {
    const shape = ints(req(inputs, 0, node));
    if (sizeOf(shape) <= HOST_LIMIT) return [host(fill.dtype, shape, new Array<number>(sizeOf(shape)).fill(value))];
    return [out(ctx, ctx.tf.fill(shape, value, tfDtype(fill.dtype)), fill.dtype)];
  };
};

const range: OpCompiler = (node) => (inputs) => {
  const [start, limit, delta] = [0, 1, 2].map((i) => floats(req(inputs, i, node))[0] ?? 0) as [number, number, number];
  const n = Math.max(0, Math.ceil((limit - start) / delta));
  return [host(req(inputs, 0, node).dtype, [n], Array.from({ length: n }, (_, i) => start + i * delta))];
};

const ONNX_TO: Record<number, DType> = { 1: 'float32', 10: 'float32', 11: 'float32', 6: 'int32', 7: 'int64', 5: 'int32', 3: 'int32', 2: 'int32', 9: 'bool' };

const cast: OpCompiler = (node) => {
  const to = ONNX_TO[attrInt(node, 'to', 1)];
  if (to === undefined) throw new Error(`Cast node '${node.name}': target type ${attrInt(node, 'to', 1)} is not supported`);
  return (inputs, ctx) => {
    const x = req(inputs, 0, node);
    if (isSmallHost(x)) {
      return [host(to, x.shape, Array.from(x.data, (v) => (to === 'float32' ? v : to === 'bool' ? (v !== 0 ? 1 : 0) : Math.trunc(v))))];
    }
    const t = ctx.tensor(x);
    const target = tfDtype(to);
    return [out(ctx, t.dtype === target ? ctx.tf.clone(t) : ctx.tf.cast(t, target), to)];
  };
};

const constant: OpCompiler = (node) => {
  const v = attr(node, 'value') ?? attr(node, 'value_float') ?? attr(node, 'value_floats') ?? attr(node, 'value_int') ?? attr(node, 'value_ints');
  let value: HostValue;
  if (typeof v === 'object' && !Array.isArray(v)) value = v;
  else if (typeof v === 'number') value = host(node.attrs.has('value_int') ? 'int64' : 'float32', [], [v]);
  else if (Array.isArray(v) && v.every((x) => typeof x === 'number')) value = host(node.attrs.has('value_ints') ? 'int64' : 'float32', [v.length], v as number[]);
  else throw new Error(`Constant node '${node.name}': only tensor, float(s) and int(s) values are supported`);
  return () => [value];
};

const identity: OpCompiler = (node) => (inputs, ctx) => {
  const x = req(inputs, 0, node);
  const outs: Value[] = [x];
  // Dropout's optional mask output: all true at inference.
  if (node.op === 'Dropout' && node.outputs.length > 1 && node.outputs[1] !== '') outs.push(out(ctx, ctx.tf.ones(shapeOf(x) as number[], 'bool'), 'bool'));
  return outs;
};

const pad: OpCompiler = (node, c) => (inputs, ctx) => {
  const tf = ctx.tf;
  const x = ctx.tensor(req(inputs, 0, node));
  const mode = attrString(node, 'mode', 'constant');
  const pads = c.opset >= 11 ? ints(req(inputs, 1, node)) : (attrInts(node, 'pads') ?? []);
  const value = c.opset >= 11 ? (present(inputs[2]) ? (floats(inputs[2])[0] ?? 0) : 0) : attrFloat(node, 'value', 0);
  const axes = c.opset >= 18 && present(inputs[3]) ? ints(inputs[3]).map((a) => normAxis(a, x.rank)) : Array.from({ length: x.rank }, (_, i) => i);
  const paddings: [number, number][] = Array.from({ length: x.rank }, () => [0, 0]);
  axes.forEach((a, i) => (paddings[a] = [pads[i] ?? 0, pads[i + axes.length] ?? 0]));
  if (paddings.some(([a, b]) => a < 0 || b < 0)) throw new Error(`Pad node '${node.name}': negative pads are not supported`);
  if (mode === 'constant') return [out(ctx, tf.pad(x, paddings, value), req(inputs, 0, node).dtype)];
  if (mode === 'reflect') return [out(ctx, tf.mirrorPad(x, paddings, 'reflect'), 'float32')];
  throw new Error(`Pad node '${node.name}': mode '${mode}' is not supported (constant, reflect are)`);
};

const clip: OpCompiler = (node, c) => (inputs, ctx) => {
  const x = req(inputs, 0, node);
  const lo = c.opset >= 11 ? (present(inputs[1]) ? (floats(inputs[1])[0] as number) : -Infinity) : attrFloat(node, 'min', -Infinity);
  const hi = c.opset >= 11 ? (present(inputs[2]) ? (floats(inputs[2])[0] as number) : Infinity) : attrFloat(node, 'max', Infinity);
  return [out(ctx, ctx.tf.clipByValue(ctx.tensor(x), lo, hi), x.dtype)];
};

// ---------------------------------------------------------------------------------------------------------
// Resize (nearest and linear, any coordinate transformation mode), as gathers along each resized axis

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

// ---------------------------------------------------------------------------------------------------------
// torch's GroupNorm export, fused

/**
 * torch.onnx writes GroupNorm(G, C) as Reshape(x, [0, G, -1]) -> InstanceNormalization(ones, zeros) ->
 * Reshape(.., Shape(x)) [-> Mul(weight[C,1,1]) -> Add(bias[C,1,1])]. graph.ts replaces that chain with this
 * one node (op '_TorchGroupNorm', attrs num_groups and epsilon, inputs x [, weight, bias]), which normalises
 * channels-last values without leaving that layout and applies the affine part in the same pass.
 */
export const torchGroupNorm: OpCompiler = (node) => {
  const groups = attrInt(node, 'num_groups', 1);
  const eps = attrFloat(node, 'epsilon', 1e-5);
  return (inputs, ctx) => {
    const tf = ctx.tf;
    const xv = req(inputs, 0, node);
    const shape = shapeOf(xv);
    const gamma = inputs[1];
    const beta = inputs[2];
    if (isNHWC(xv)) {
      const x = ctx.nhwc(xv);
      const [n, h, w, c] = x.shape as [number, number, number, number];
      // Per-group sums as ones[1,HW] @ x[HW,C] (then over each group's channels): a reduction over the
      // spatial axes of a channels-last tensor would make tfjs transpose it first, which costs more.
      const cg = c / groups;
      const per = h * w * cg;
      const weights = tf.fill([n, 1, h * w], 1 / per) as import('@tensorflow/tfjs').Tensor3D;
      const groupMean = (t: Tensor): Tensor => tf.sum(tf.reshape(tf.matMul(weights, tf.reshape(t, [n, h * w, c]) as import('@tensorflow/tfjs').Tensor3D), [n, 1, groups, cg]), 3, true);
      const d = tf.sub(tf.reshape(x, [n, h * w, groups, cg]), groupMean(x));
      let scale = tf.rsqrt(tf.add(groupMean(tf.mul(d, d)), eps)); // [n,1,G,1]
      if (gamma !== undefined) scale = tf.mul(scale, tf.reshape(ctx.tensor(gamma), [1, 1, groups, cg]));
      let y = tf.mul(d, scale);
      if (beta !== undefined) y = tf.add(y, tf.reshape(ctx.tensor(beta), [1, 1, groups, cg]));
      return [wrapNHWC(tf.reshape(y, [n, h, w, c]))];
    }
    const x = ctx.tensor(xv);
    const g = tf.reshape(x, [shape[0] as number, groups, -1]);
    const { mean, variance } = tf.moments(g, [2], true);
    let y = tf.reshape(tf.mul(tf.sub(g, mean), tf.rsqrt(tf.add(variance, eps))), [...shape]);
    if (gamma !== undefined) y = tf.mul(y, ctx.tensor(gamma));
    if (beta !== undefined) y = tf.add(y, ctx.tensor(beta));
    return [out(ctx, y, 'float32')];
  };
};

// ---------------------------------------------------------------------------------------------------------
// the table

const M = Math;
const trunc = (x: number, y: number): number => M.trunc(x / y);

/** Every ONNX op this backend runs (default domain). Anything else is refused when the model loads. */
export const OPS: Readonly<Record<string, OpCompiler>> = {
  // elementwise arithmetic
  Add: binary((tf, a, b) => tf.add(a, b), (x, y) => x + y),
  Sub: binary((tf, a, b) => tf.sub(a, b), (x, y) => x - y),
  Mul: binary((tf, a, b) => tf.mul(a, b), (x, y) => x * y),
  Div: (node, c) => {
    const onTensors = binary(intDiv, null)(node, c);
    return (inputs, ctx) => {
      const [a, b] = inputs;
      if (isSmallHost(a) && isSmallHost(b) && sizeOf(broadcastShapes(a.shape, b.shape)) <= HOST_LIMIT) {
        return [hostBinary(a, b, a.dtype, a.dtype === 'float32' ? (x, y) => x / y : trunc)];
      }
      return onTensors(inputs, ctx);
    };
  },
  Pow: binary((tf, a, b) => tf.pow(a, b), (x, y) => x ** y),
  Equal: binary((tf, a, b) => tf.equal(a, b), (x, y) => (x === y ? 1 : 0), 'bool'),
  Less: binary((tf, a, b) => tf.less(a, b), (x, y) => (x < y ? 1 : 0), 'bool'),
  Greater: binary((tf, a, b) => tf.greater(a, b), (x, y) => (x > y ? 1 : 0), 'bool'),
  LessOrEqual: binary((tf, a, b) => tf.lessEqual(a, b), (x, y) => (x <= y ? 1 : 0), 'bool'),
  GreaterOrEqual: binary((tf, a, b) => tf.greaterEqual(a, b), (x, y) => (x >= y ? 1 : 0), 'bool'),
  And: binary((tf, a, b) => tf.logicalAnd(a, b), (x, y) => (x && y ? 1 : 0), 'bool'),
  Or: binary((tf, a, b) => tf.logicalOr(a, b), (x, y) => (x || y ? 1 : 0), 'bool'),
  Max: variadic((tf, a, b) => tf.maximum(a, b)),
  Min: variadic((tf, a, b) => tf.minimum(a, b)),
  Sum: variadic((tf, a, b) => tf.add(a, b)),
  // unary
  Sqrt: unary((tf, x) => tf.sqrt(x), M.sqrt),
  Neg: unary((tf, x) => tf.neg(x), (x) => -x),
  Abs: unary((tf, x) => tf.abs(x), M.abs),
  Exp: unary((tf, x) => tf.exp(x), M.exp),
  Log: unary((tf, x) => tf.log(x), M.log),
  Sin: unary((tf, x) => tf.sin(x), M.sin),
  Cos: unary((tf, x) => tf.cos(x), M.cos),
  Floor: unary((tf, x) => tf.floor(x), M.floor),
  Ceil: unary((tf, x) => tf.ceil(x), M.ceil),
  Reciprocal: unary((tf, x) => tf.reciprocal(x), (x) => 1 / x),
  Not: unary((tf, x) => tf.logicalNot(x), (x) => (x ? 0 : 1)),
  Sigmoid: unary((tf, x) => tf.sigmoid(x)),
  Tanh: unary((tf, x) => tf.tanh(x)),
  Relu: unary((tf, x) => tf.relu(x)),
  Softplus: unary((tf, x) => tf.softplus(x)),
  Erf: unary((tf, x) => tf.erf(x)),
  LeakyRelu: (node, c) => unary((tf, x) => tf.leakyRelu(x, attrFloat(node, 'alpha', 0.01)))(node, c),
  Clip: clip,
  // layers
  Conv: conv,
  ConvTranspose: convTranspose,
  Gemm: gemm,
  MatMul: matMul,
  Einsum: einsum,
  MaxPool: pool('max'),
  AveragePool: pool('avg'),
  GlobalAveragePool: (node) => (inputs, ctx) => {
    const xv = req(inputs, 0, node);
    if (isNHWC(xv)) return [wrapNHWC(ctx.tf.mean(ctx.nhwc(xv), [1, 2], true))];
    const x = ctx.tensor(xv);
    return [out(ctx, ctx.tf.mean(x, Array.from({ length: x.rank - 2 }, (_, i) => i + 2), true), 'float32')];
  },
  GlobalMaxPool: (node) => (inputs, ctx) => {
    const xv = req(inputs, 0, node);
    if (isNHWC(xv)) return [wrapNHWC(ctx.tf.max(ctx.nhwc(xv), [1, 2], true))];
    const x = ctx.tensor(xv);
    return [out(ctx, ctx.tf.max(x, Array.from({ length: x.rank - 2 }, (_, i) => i + 2), true), 'float32')];
  },
  InstanceNormalization: instanceNorm,
  GroupNormalization: groupNorm,
  BatchNormalization: batchNorm,
  LayerNormalization: layerNorm,
  Softmax: softmax(false),
  LogSoftmax: softmax(true),
  ReduceMean: reduce((tf, x, a, k) => tf.mean(x, a, k), 18),
  ReduceSum: reduce((tf, x, a, k) => tf.sum(x, a, k), 13),
  ReduceMax: reduce((tf, x, a, k) => tf.max(x, a, k), 18),
  ReduceMin: reduce((tf, x, a, k) => tf.min(x, a, k), 18),
  Dropout: identity,
  Identity: identity,
  Resize: resize,
  Pad: pad,
  // shapes
  Reshape: reshape,
  Flatten: flatten,
  Transpose: transpose,
  Concat: concat,
  Split: split,
  Slice: slice,
  Gather: gather,
  Unsqueeze: unsqueeze,
  Squeeze: squeeze,
  Shape: shapeOp,
  Size: sizeOp,
  Expand: expand,
  Where: where,
  ConstantOfShape: constantOfShape,
  Range: range,
  Cast: cast,
  Constant: constant,
};

export const SUPPORTED_OPS: readonly string[] = Object.keys(OPS).sort();
