// Shape and data-movement ops: Reshape, Flatten, (Un)Squeeze, Shape, Size, Transpose, Concat, Split, Slice,
// Gather, Expand, Pad, and the constants (Constant, ConstantOfShape, Range) plus Identity/Dropout. Small
// values (shape arithmetic on int64) stay host arrays and are computed in JS.
import { type HostValue, type Tensor, type Value, HOST_LIMIT, broadcastIndex, broadcastShapes, floats, host, ints, isNHWC, isSmallHost, normAxis, shapeOf, sizeOf, stridesOf, tfDtype, wrapNHWC } from '../values.js';
import { type OpCompiler, type OpEntry, type RunContext, attr, attrFloat, attrInt, attrInts, attrString, out, present, req } from './kernel.js';

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

export const SHAPE_OPS: readonly OpEntry[] = [
  { op: 'Reshape', compile: reshape },
  { op: 'Flatten', compile: flatten },
  { op: 'Unsqueeze', compile: unsqueeze },
  { op: 'Squeeze', compile: squeeze },
  { op: 'Shape', compile: shapeOp },
  { op: 'Size', compile: sizeOp },
  { op: 'Transpose', compile: transpose },
  { op: 'Concat', compile: concat },
  { op: 'Split', compile: split },
  { op: 'Slice', compile: slice, note: 'steps, negative indices' },
  { op: 'Gather', compile: gather },
  { op: 'Expand', compile: expand },
  { op: 'Pad', compile: pad, note: 'constant, reflect' },
  { op: 'Constant', compile: constant },
  { op: 'ConstantOfShape', compile: constantOfShape },
  { op: 'Range', compile: range },
  { op: 'Identity', compile: identity },
  { op: 'Dropout', compile: identity, note: 'identity' },
];
