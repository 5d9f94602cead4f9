// Elementwise ops: binary arithmetic, comparisons and logic (broadcasting), variadic Max/Min/Sum, unary math
// and activations, Clip, Where and Cast. Small host arrays (shape arithmetic) are computed in JS; a
// channels-last value stays channels-last.
import type { NodeIR } from '../proto.js';
import {
  type DType,
  type Tensor,
  type Tf,
  type Value,
  HOST_LIMIT,
  broadcastIndex,
  broadcastShapes,
  floats,
  host,
  hostBinary,
  isNHWC,
  isSmallHost,
  shapeOf,
  sizeOf,
  tfDtype,
  wrapNHWC,
} from '../values.js';
import { type OpCompiler, type OpEntry, attrFloat, attrInt, out, present, req } from './kernel.js';

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

const trunc = (x: number, y: number): number => Math.trunc(x / y);

/** Div: integer division truncates (ONNX), on the host as on tensors. */
const div: OpCompiler = (node, c) => {
  const onTensors = binary(intDiv, null)(node, c);
  return (inputs, ctx) => {
    const [a, b] = inputs;
    if (isSmallHost(a) && isSmallHost(b) && sizeOf(broadcastShapes(a.shape, b.shape)) <= HOST_LIMIT) {
      return [hostBinary(a, b, a.dtype, a.dtype === 'float32' ? (x, y) => x / y : trunc)];
    }
    return onTensors(inputs, ctx);
  };
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

const leakyRelu: OpCompiler = (node, c) => unary((tf, x) => tf.leakyRelu(x, attrFloat(node, 'alpha', 0.01)))(node, c);

const clip: OpCompiler = (node, c) => (inputs, ctx) => {
  const x = req(inputs, 0, node);
  const lo = c.opset >= 11 ? (present(inputs[1]) ? (floats(inputs[1])[0] as number) : -Infinity) : attrFloat(node, 'min', -Infinity);
  const hi = c.opset >= 11 ? (present(inputs[2]) ? (floats(inputs[2])[0] as number) : Infinity) : attrFloat(node, 'max', Infinity);
  return [out(ctx, ctx.tf.clipByValue(ctx.tensor(x), lo, hi), x.dtype)];
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

/** ONNX TensorProto element types this backend holds (float16/double as float32, small ints as int32). */
const ONNX_TO: Record<number, DType> = { 1: 'float32', 10: 'float32', 11: 'float32', 6: 'int32', 7: 'int64', 5: 'int32', 3: 'int32', 2: 'int32', 9: 'bool' };

const cast: OpCompiler = (node: NodeIR) => {
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

const M = Math;

export const ELEMENTWISE_OPS: readonly OpEntry[] = [
  // binary arithmetic
  { op: 'Add', compile: binary((tf, a, b) => tf.add(a, b), (x, y) => x + y) },
  { op: 'Sub', compile: binary((tf, a, b) => tf.sub(a, b), (x, y) => x - y) },
  { op: 'Mul', compile: binary((tf, a, b) => tf.mul(a, b), (x, y) => x * y) },
  { op: 'Div', compile: div },
  { op: 'Pow', compile: binary((tf, a, b) => tf.pow(a, b), (x, y) => x ** y) },
  // comparisons and logic
  { op: 'Equal', compile: binary((tf, a, b) => tf.equal(a, b), (x, y) => (x === y ? 1 : 0), 'bool') },
  { op: 'Less', compile: binary((tf, a, b) => tf.less(a, b), (x, y) => (x < y ? 1 : 0), 'bool') },
  { op: 'Greater', compile: binary((tf, a, b) => tf.greater(a, b), (x, y) => (x > y ? 1 : 0), 'bool') },
  { op: 'LessOrEqual', compile: binary((tf, a, b) => tf.lessEqual(a, b), (x, y) => (x <= y ? 1 : 0), 'bool') },
  { op: 'GreaterOrEqual', compile: binary((tf, a, b) => tf.greaterEqual(a, b), (x, y) => (x >= y ? 1 : 0), 'bool') },
  { op: 'And', compile: binary((tf, a, b) => tf.logicalAnd(a, b), (x, y) => (x && y ? 1 : 0), 'bool') },
  { op: 'Or', compile: binary((tf, a, b) => tf.logicalOr(a, b), (x, y) => (x || y ? 1 : 0), 'bool') },
  { op: 'Not', compile: unary((tf, x) => tf.logicalNot(x), (x) => (x ? 0 : 1)) },
  // variadic
  { op: 'Max', compile: variadic((tf, a, b) => tf.maximum(a, b)) },
  { op: 'Min', compile: variadic((tf, a, b) => tf.minimum(a, b)) },
  { op: 'Sum', compile: variadic((tf, a, b) => tf.add(a, b)) },
  // unary math
  { op: 'Sqrt', compile: unary((tf, x) => tf.sqrt(x), M.sqrt) },
  { op: 'Neg', compile: unary((tf, x) => tf.neg(x), (x) => -x) },
  { op: 'Abs', compile: unary((tf, x) => tf.abs(x), M.abs) },
  { op: 'Exp', compile: unary((tf, x) => tf.exp(x), M.exp) },
  { op: 'Log', compile: unary((tf, x) => tf.log(x), M.log) },
  { op: 'Sin', compile: unary((tf, x) => tf.sin(x), M.sin) },
  { op: 'Cos', compile: unary((tf, x) => tf.cos(x), M.cos) },
  { op: 'Floor', compile: unary((tf, x) => tf.floor(x), M.floor) },
  { op: 'Ceil', compile: unary((tf, x) => tf.ceil(x), M.ceil) },
  { op: 'Reciprocal', compile: unary((tf, x) => tf.reciprocal(x), (x) => 1 / x) },
  // activations
  { op: 'Sigmoid', compile: unary((tf, x) => tf.sigmoid(x)) },
  { op: 'Tanh', compile: unary((tf, x) => tf.tanh(x)) },
  { op: 'Relu', compile: unary((tf, x) => tf.relu(x)) },
  { op: 'Softplus', compile: unary((tf, x) => tf.softplus(x)) },
  { op: 'Erf', compile: unary((tf, x) => tf.erf(x)) },
  { op: 'LeakyRelu', compile: leakyRelu },
  // selection and conversion
  { op: 'Clip', compile: clip },
  { op: 'Where', compile: where },
  { op: 'Cast', compile: cast },
];
