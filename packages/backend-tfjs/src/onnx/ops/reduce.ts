// Reductions (ReduceMean/Sum/Max/Min: axes as an attribute or, from the opset where ONNX moved it, as an
// input) and Softmax / LogSoftmax (flatten-at-axis semantics before opset 13, one axis from 13).
import { type Tensor, type Tf, normAxis, ints, sizeOf } from '../values.js';
import { type OpCompiler, type OpEntry, attrInt, attrInts, out, present, req } from './kernel.js';

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

export const REDUCE_OPS: readonly OpEntry[] = [
  // The opset from which `axes` is an input rather than an attribute.
  { op: 'ReduceMean', compile: reduce((tf, x, a, k) => tf.mean(x, a, k), 18) },
  { op: 'ReduceSum', compile: reduce((tf, x, a, k) => tf.sum(x, a, k), 13) },
  { op: 'ReduceMax', compile: reduce((tf, x, a, k) => tf.max(x, a, k), 18) },
  { op: 'ReduceMin', compile: reduce((tf, x, a, k) => tf.min(x, a, k), 18) },
  { op: 'Softmax', compile: softmax(false) },
  { op: 'LogSoftmax', compile: softmax(true) },
];
