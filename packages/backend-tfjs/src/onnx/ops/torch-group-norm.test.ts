import { describe, expect, it } from 'vitest';
import { parseOnnx } from '../proto.js';
import { bytesFor, describeOrtCases } from './cases.testutil.js';
import { TORCH_GROUP_NORM, fuseTorchGroupNorm } from './torch-group-norm.js';
import { TORCH_GROUP_NORM_CASES } from './torch-group-norm.cases.testutil.js';

describeOrtCases('torch GroupNorm export agrees with onnxruntime', TORCH_GROUP_NORM_CASES);

describe('the torch GroupNorm pattern', () => {
  for (const c of TORCH_GROUP_NORM_CASES) {
    it(`is fused into one node, affine part included: ${c.name}`, () => {
      const graph = parseOnnx(bytesFor(c));
      const nodes = fuseTorchGroupNorm(graph);
      const fused = nodes.filter((n) => n.op === TORCH_GROUP_NORM);
      expect(fused).toHaveLength(1);
      expect(fused[0]!.inputs).toHaveLength(3);
      expect(fused[0]!.attrs.get('num_groups')).toBe(2);
      for (const op of ['InstanceNormalization', 'Reshape', 'Mul', 'Add']) expect(nodes.map((n) => n.op)).not.toContain(op);
    });
  }

  it('is left alone when the InstanceNormalization has a real scale', () => {
    const c = TORCH_GROUP_NORM_CASES[0]!;
    const scaled = { ...c, initializers: (c.initializers ?? []).map((i) => (i.name === 'ones' ? { ...i, values: [1, 2] } : i)) };
    const nodes = fuseTorchGroupNorm(parseOnnx(bytesFor(scaled)));
    expect(nodes.map((n) => n.op)).not.toContain(TORCH_GROUP_NORM);
    expect(nodes).toHaveLength(c.nodes.length);
  });
});
