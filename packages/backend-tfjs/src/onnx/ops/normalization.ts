// Normalisation ops over NC... tensors: InstanceNormalization, GroupNormalization (opset 18 and 21),
// BatchNormalization (inference; static statistics folded into one multiply-add at load) and
// LayerNormalization. torch's GroupNorm export (Reshape, InstanceNormalization, Reshape) is fused separately:
// see torch-group-norm.ts.
import { type Tensor, type Tf, type Value, isNHWC, normAxis, wrapNHWC } from '../values.js';
import { type OpCompiler, type OpEntry, attrFloat, attrInt, out, present, req } from './kernel.js';

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

export const NORMALIZATION_OPS: readonly OpEntry[] = [
  { op: 'InstanceNormalization', compile: instanceNorm },
  { op: 'GroupNormalization', compile: groupNorm, opsets: { from: 18 }, note: 'scale per group as in opset 18 or per channel as in 21' },
  { op: 'BatchNormalization', compile: batchNorm, note: 'inference' },
  { op: 'LayerNormalization', compile: layerNorm },
];
