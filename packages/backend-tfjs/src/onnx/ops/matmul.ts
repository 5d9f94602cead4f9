// Matrix products: Gemm, MatMul (batch dims broadcast explicitly) and Einsum (one or two operands, lowered to
// transpose + reshape + batched matMul).
import { type Tensor, broadcastShapes, shapeOf, sizeOf } from '../values.js';
import { type OpCompiler, type OpEntry, attrFloat, attrInt, attrString, out, present, req } from './kernel.js';

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

export const MATMUL_OPS: readonly OpEntry[] = [
  { op: 'Gemm', compile: gemm },
  { op: 'MatMul', compile: matMul },
  { op: 'Einsum', compile: einsum, note: 'one or two operands, no ellipsis' },
];
