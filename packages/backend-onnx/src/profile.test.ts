import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { type NodeSpec, buildOnnxModel } from '@densepure/backend/testing';
import { byOpType, einsumMultiplyAdds, nodeFlops, parseTrace } from './profile.js';

const dir = mkdtempSync(join(tmpdir(), 'densepure-profile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fill = (n: number) => Array.from({ length: n }, (_, i) => ((i % 7) - 3) / 10);

// x [2,8,6,6] -> 3x3 Conv to 16 channels -> [2,16,36] -> attention-style Einsum -> MatMul with [36,4] -> Sigmoid;
// y [3,5] -> Gemm with [7,5]^T.
const nodes: NodeSpec[] = [
  { op: 'Conv', name: 'conv', inputs: ['x', 'w'], outputs: ['c'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
  { op: 'Reshape', name: 'flat', inputs: ['c', 'shape'], outputs: ['r'] },
  { op: 'Einsum', name: 'scores', inputs: ['r', 'r'], outputs: ['e'], attrs: { equation: 'bct,bcs->bts' } },
  { op: 'MatMul', name: 'project', inputs: ['e', 'm'], outputs: ['p'] },
  { op: 'Sigmoid', name: 'gate', inputs: ['p'], outputs: ['out'] },
  { op: 'Gemm', name: 'dense', inputs: ['y', 'g'], outputs: ['z'], attrs: { transB: 1 } },
];
// By hand: 2 x multiply-adds, i.e. 2 x (output elements x inner size).
const HAND = {
  Conv: 2 * (2 * 16 * 6 * 6) * (8 * 3 * 3), // 165,888
  Einsum: 2 * (2 * 36 * 36) * 16, // 82,944
  MatMul: 2 * (2 * 36 * 4) * 36, // 20,736
  Gemm: 2 * (3 * 7) * 5, // 210
  Sigmoid: 2 * 36 * 4, // one per output element
  Reshape: 0,
};
const tiny = buildOnnxModel({
  name: 'flops',
  inputs: [
    { name: 'x', type: 'float32', shape: [2, 8, 6, 6] },
    { name: 'y', type: 'float32', shape: [3, 5] },
  ],
  outputs: [
    { name: 'out', type: 'float32', shape: [2, 36, 4] },
    { name: 'z', type: 'float32', shape: [3, 7] },
  ],
  nodes,
  initializers: [
    { name: 'w', type: 'float32', dims: [16, 8, 3, 3], values: fill(16 * 8 * 9) },
    { name: 'shape', type: 'int64', dims: [3], values: [2, 16, 36] },
    { name: 'm', type: 'float32', dims: [36, 4], values: fill(144) },
    { name: 'g', type: 'float32', dims: [7, 5], values: fill(35) },
  ],
});
const attrsOf = (name: string) => {
  const spec = nodes.find((n) => n.name === name);
  return spec === undefined ? undefined : new Map(Object.entries(spec.attrs ?? {}));
};

describe('FLOPs per op type from an onnxruntime profiler trace', () => {
  it('equal a hand count on a tiny model, read from a real trace', async () => {
    const session = await ort.InferenceSession.create(tiny, {
      executionProviders: ['cpu'],
      intraOpNumThreads: 1,
      graphOptimizationLevel: 'disabled',
      enableProfiling: true,
      profileFilePrefix: join(dir, 'trace'),
    });
    const feeds = { x: new ort.Tensor('float32', new Float32Array(2 * 8 * 36).fill(0.5), [2, 8, 6, 6]), y: new ort.Tensor('float32', new Float32Array(15).fill(1), [3, 5]) };
    await session.run(feeds);
    await session.run(feeds);
    session.endProfiling();
    await session.release();
    const file = readdirSync(dir).find((f) => f.startsWith('trace') && f.endsWith('.json'));
    expect(file).toBeDefined();
    const { nodes: traced, runs } = parseTrace(JSON.parse(readFileSync(join(dir, String(file)), 'utf8')) as unknown[]);
    expect(runs).toHaveLength(2);
    const rows = byOpType(traced, runs.slice(1), attrsOf);
    const flops = Object.fromEntries(rows.map((r) => [r.opType, r.flops]));
    expect(flops).toEqual(HAND);
    expect(rows.every((r) => r.nodes === 1 && r.micros >= 0)).toBe(true);
  });

  it('counts a grouped conv by its channels per group, an NHWC conv by its last axis, a transposed-A Gemm by its inner size', () => {
    const conv = { name: 'dw', opType: 'Conv', inputShapes: [[1, 8, 5, 5]], outputShapes: [[1, 8, 5, 5]] };
    expect(nodeFlops(conv, new Map<string, unknown>([['kernel_shape', [3, 3]], ['group', 8]]))).toBe(2 * 200 * 9);
    const nhwc = { name: 'q', opType: 'QLinearConv', inputShapes: [[1, 5, 5, 8]], outputShapes: [[1, 5, 5, 16]] };
    expect(nodeFlops(nhwc, new Map<string, unknown>([['kernel_shape', [3, 3]], ['channels_last', 1]]))).toBe(2 * 400 * 8 * 9);
    const gemm = { name: 'g', opType: 'Gemm', inputShapes: [[5, 3]], outputShapes: [[3, 7]] };
    expect(nodeFlops(gemm, new Map([['transA', 1]]))).toBe(2 * 21 * 5);
    expect(nodeFlops({ name: 'r', opType: 'ReorderInput', inputShapes: [[1, 8, 5, 5]], outputShapes: [[1, 8, 5, 5]] })).toBe(0);
  });

  it('refuses an einsum without its equation', () => {
    expect(einsumMultiplyAdds('bts,bcs->bct', [[4, 9, 9], [4, 2, 9]])).toBe(4 * 9 * 9 * 2);
    expect(() => nodeFlops({ name: 'e', opType: 'Einsum', inputShapes: [[1, 2], [2, 3]], outputShapes: [[1, 3]] })).toThrow(/equation/);
  });
});
