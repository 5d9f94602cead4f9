// torch's GroupNorm export, fused: the graph pattern torch.onnx writes for nn.GroupNorm, the rewrite that
// replaces it with one internal node, and the kernel of that node. The internal op is not an ONNX op: it is
// never in the supported-op table, and a model that names it itself is refused.
import type { GraphIR, NodeIR } from '../proto.js';
import { type HostValue, type Tensor, isNHWC, shapeOf, wrapNHWC } from '../values.js';
import { type OpCompiler, attrFloat, attrInt, out, req } from './kernel.js';

/** The op type of the fused node (outside the ONNX namespace: ONNX op types never start with '_'). */
export const TORCH_GROUP_NORM = '_TorchGroupNorm';

/**
 * torch.onnx writes GroupNorm(G, C) as Reshape(x, [0, G, -1]) -> InstanceNormalization(ones, zeros) ->
 * Reshape(.., Shape(x)) [-> Mul(weight[C,1,1]) -> Add(bias[C,1,1])]. fuseTorchGroupNorm (below) replaces that
 * chain with one node (op '_TorchGroupNorm', attrs num_groups and epsilon, inputs x [, weight, bias]), which
 * this kernel runs: it normalises channels-last values without leaving that layout and applies the affine part
 * in the same pass.
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

/**
 * The fusion: finds torch's GroupNorm export — Reshape(x, const [0, G, -1]) -> InstanceNormalization(scale all
 * 1, bias all 0) -> Reshape(.., Shape(x)) with no other readers of the intermediates — and replaces each chain
 * with one '_TorchGroupNorm' node (which keeps channels-last values channels-last). Everything else is left as
 * is. graph.ts runs it before compiling.
 */
export function fuseTorchGroupNorm(graph: GraphIR): NodeIR[] {
  const readers = new Map<string, number>();
  for (const n of graph.nodes) for (const i of n.inputs) readers.set(i, (readers.get(i) ?? 0) + 1);
  for (const o of graph.outputs) readers.set(o.name, (readers.get(o.name) ?? 0) + 1);
  const producer = new Map<string, NodeIR>();
  for (const n of graph.nodes) for (const o of n.outputs) producer.set(o, n);
  const constValue = (name: string | undefined): HostValue | null => {
    if (name === undefined) return null;
    const init = graph.initializers.get(name);
    if (init !== undefined) return init;
    const p = producer.get(name);
    const v = p?.op === 'Constant' ? p.attrs.get('value') : undefined;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : null;
  };
  const constOf = (name: string | undefined): readonly number[] | null => {
    const v = constValue(name);
    return v === null ? null : Array.from(v.data);
  };
  /** A per-channel constant [C,1,1] (torch's GroupNorm weight and bias after the normalisation). */
  const perChannel = (name: string | undefined): boolean => {
    const v = constValue(name);
    return v !== null && v.dtype === 'float32' && v.shape.length === 3 && v.shape[1] === 1 && v.shape[2] === 1;
  };
  const consumer = (name: string): NodeIR | undefined => (readers.get(name) === 1 ? graph.nodes.find((n) => n.inputs.includes(name)) : undefined);
  const replaced = new Map<NodeIR, NodeIR | null>();
  for (const r1 of graph.nodes) {
    if (r1.op !== 'Reshape' || replaced.has(r1)) continue;
    const target = constOf(r1.inputs[1]);
    if (target === null || target.length !== 3 || target[0] !== 0 || target[2] !== -1 || !((target[1] as number) > 0)) continue;
    const inorm = consumer(r1.outputs[0] ?? '');
    if (inorm?.op !== 'InstanceNormalization' || inorm.inputs[0] !== r1.outputs[0]) continue;
    const scale = constOf(inorm.inputs[1]);
    const bias = constOf(inorm.inputs[2]);
    if (scale === null || bias === null || scale.some((v) => v !== 1) || bias.some((v) => v !== 0)) continue;
    const r2 = consumer(inorm.outputs[0] ?? '');
    if (r2?.op !== 'Reshape' || r2.inputs[0] !== inorm.outputs[0]) continue;
    const shapeNode = producer.get(r2.inputs[1] ?? '');
    if (shapeNode?.op !== 'Shape' || shapeNode.inputs[0] !== r1.inputs[0] || shapeNode.attrs.size > 0) continue;
    const eps = inorm.attrs.get('epsilon');
    // The affine part that follows (Mul by weight[C,1,1], Add bias[C,1,1]) is folded in when present.
    const mul = consumer(r2.outputs[0] ?? '');
    const gamma = mul?.op === 'Mul' ? mul.inputs.find((i) => i !== r2.outputs[0]) : undefined;
    const add = mul !== undefined && gamma !== undefined && perChannel(gamma) ? consumer(mul.outputs[0] ?? '') : undefined;
    const beta = add?.op === 'Add' ? add.inputs.find((i) => i !== mul?.outputs[0]) : undefined;
    const affine = mul !== undefined && add !== undefined && gamma !== undefined && beta !== undefined && perChannel(beta);
    const last = affine ? (add as NodeIR) : r2;
    replaced.set(r1, {
      op: TORCH_GROUP_NORM,
      domain: '',
      name: `${r1.name}+${inorm.name}+${r2.name}${affine ? `+${(mul as NodeIR).name}+${(add as NodeIR).name}` : ''}`,
      inputs: affine ? [r1.inputs[0] as string, gamma as string, beta as string] : [r1.inputs[0] as string],
      outputs: [...last.outputs],
      attrs: new Map([
        ['num_groups', target[1] as number],
        ['epsilon', typeof eps === 'number' ? eps : 1e-5],
      ]),
    });
    replaced.set(inorm, null);
    replaced.set(r2, null);
    if (affine) {
      replaced.set(mul as NodeIR, null);
      replaced.set(add as NodeIR, null);
    }
  }
  // The fused node stands where the last Reshape stood, so everything it reads is computed before it.
  const out: NodeIR[] = [];
  const pendingAt = new Map<NodeIR, NodeIR>();
  for (const [first, fused] of replaced) {
    if (fused === null || first.op !== 'Reshape') continue;
    const last = graph.nodes.find((n) => n.outputs[0] === fused.outputs[0]);
    if (last !== undefined) pendingAt.set(last, fused);
  }
  for (const n of graph.nodes) {
    const fused = pendingAt.get(n);
    if (fused !== undefined) out.push(fused);
    else if (!replaced.has(n)) out.push(n);
  }
  return out;
}
