// Each supported op (and the attribute variants torch exports) run through onnxruntime-node and through the
// tfjs op mapper on the same inputs: outputs must agree to 1e-4, on wasm and on the pure-JS cpu backend.
import { type InitializerSpec, type NodeSpec, type ValueSpec, buildOnnxModel } from '@densepure/backend/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { convPadding } from './onnx/ops.js';
import { type Feed, maxAbsDiff, runOrt, runTfjs, seeded } from './ort.testutil.js';

interface Case {
  readonly name: string;
  readonly inputs: readonly (ValueSpec & { readonly lo?: number; readonly hi?: number })[];
  readonly outputs?: readonly ValueSpec[];
  readonly nodes: readonly NodeSpec[];
  readonly initializers?: readonly InitializerSpec[];
  readonly floatAttrs?: readonly string[];
  readonly opset?: number;
}

const f = (name: string, dims: number[], seed: number, lo = -1, hi = 1): InitializerSpec => ({
  name,
  type: 'float32',
  dims,
  values: Array.from(seeded(dims.reduce((a, b) => a * b, 1), seed, lo, hi)),
});
const i64 = (name: string, values: number[], dims = [values.length]): InitializerSpec => ({ name, type: 'int64', dims, values });
const x = (shape: number[], name = 'x'): ValueSpec => ({ name, type: 'float32', shape });
const y: ValueSpec = { name: 'y', type: 'float32', shape: [] };
const one = (op: string, attrs: NodeSpec['attrs'] = {}, inputs = ['x'], extra: Partial<Case> = {}): Omit<Case, 'name' | 'inputs'> => ({
  nodes: [{ op, inputs, outputs: ['y'], attrs }],
  ...extra,
});
// INT64_MAX itself does not survive a JS number (it rounds up and wraps when encoded); 2^62 is just as 'past the end'.
const BIG = 2 ** 62;

const cases: Case[] = [
  { name: 'Conv pads 1 + bias', inputs: [x([2, 2, 5, 5])], ...one('Conv', { pads: [1, 1, 1, 1], kernel_shape: [3, 3] }, ['x', 'w', 'b'], { initializers: [f('w', [3, 2, 3, 3], 1), f('b', [3], 2)] }) },
  { name: 'Conv stride 2, asymmetric pads', inputs: [x([1, 2, 6, 7])], ...one('Conv', { pads: [1, 0, 0, 1], strides: [2, 2] }, ['x', 'w'], { initializers: [f('w', [4, 2, 3, 3], 3)] }) },
  { name: 'Conv dilation 2', inputs: [x([1, 2, 7, 7])], ...one('Conv', { pads: [2, 2, 2, 2], dilations: [2, 2] }, ['x', 'w', 'b'], { initializers: [f('w', [2, 2, 3, 3], 4), f('b', [2], 5)] }) },
  { name: 'Conv group 2', inputs: [x([1, 4, 5, 5])], ...one('Conv', { group: 2, pads: [1, 1, 1, 1] }, ['x', 'w', 'b'], { initializers: [f('w', [4, 2, 3, 3], 6), f('b', [4], 7)] }) },
  { name: 'Conv depthwise (group = C, multiplier 2)', inputs: [x([2, 3, 5, 5])], ...one('Conv', { group: 3, pads: [1, 1, 1, 1] }, ['x', 'w', 'b'], { initializers: [f('w', [6, 1, 3, 3], 8), f('b', [6], 9)] }) },
  { name: 'Conv 1-D (Conv1d, k=1 as in attention qkv)', inputs: [x([2, 4, 7])], ...one('Conv', {}, ['x', 'w', 'b'], { initializers: [f('w', [6, 4, 1], 10), f('b', [6], 11)] }) },
  { name: 'Conv 1-D k=3 pads 1', inputs: [x([1, 3, 9])], ...one('Conv', { pads: [1, 1] }, ['x', 'w'], { initializers: [f('w', [2, 3, 3], 12)] }) },
  { name: 'ConvTranspose stride 2, pads 1, output_padding 1', inputs: [x([1, 3, 4, 4])], ...one('ConvTranspose', { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }, ['x', 'w', 'b'], { initializers: [f('w', [3, 2, 3, 3], 13), f('b', [2], 14)] }) },
  { name: 'ConvTranspose k=2 stride 2', inputs: [x([2, 2, 3, 3])], ...one('ConvTranspose', { strides: [2, 2] }, ['x', 'w'], { initializers: [f('w', [2, 3, 2, 2], 15)] }) },
  { name: 'Gemm transB, alpha, beta', inputs: [x([3, 5])], ...one('Gemm', { transB: 1, alpha: 0.5, beta: 2 }, ['x', 'w', 'b'], { initializers: [f('w', [4, 5], 16), f('b', [4], 17)], floatAttrs: ['alpha', 'beta'] }) },
  { name: 'Gemm transA', inputs: [x([5, 3])], ...one('Gemm', { transA: 1 }, ['x', 'w', 'b'], { initializers: [f('w', [5, 4], 18), f('b', [1, 4], 19)] }) },
  { name: 'MatMul batched x matrix', inputs: [x([2, 3, 4])], ...one('MatMul', {}, ['x', 'w'], { initializers: [f('w', [4, 5], 20)] }) },
  { name: 'MatMul broadcast batch', inputs: [x([2, 1, 3, 4])], ...one('MatMul', {}, ['x', 'w'], { initializers: [f('w', [3, 4, 2], 21)] }) },
  { name: 'Einsum bct,bcs->bts', inputs: [x([2, 3, 4]), x([2, 3, 5], 'z')], ...one('Einsum', { equation: 'bct,bcs->bts' }, ['x', 'z']) },
  { name: 'Einsum bts,bcs->bct', inputs: [x([2, 4, 5]), x([2, 3, 5], 'z')], ...one('Einsum', { equation: 'bts,bcs->bct' }, ['x', 'z']) },
  { name: 'Softmax axis 1 (opset 13+)', inputs: [x([2, 3, 4])], ...one('Softmax', { axis: 1 }) },
  { name: 'Softmax default axis', inputs: [x([2, 3, 4])], ...one('Softmax') },
  { name: 'LayerNormalization', inputs: [x([2, 3, 4])], ...one('LayerNormalization', { axis: -1, epsilon: 1e-5 }, ['x', 's', 'b'], { initializers: [f('s', [4], 22), f('b', [4], 23)], floatAttrs: ['epsilon'] }) },
  { name: 'BatchNormalization (inference)', inputs: [x([2, 3, 4, 4])], ...one('BatchNormalization', { epsilon: 1e-5 }, ['x', 's', 'b', 'm', 'v'], { initializers: [f('s', [3], 24), f('b', [3], 25), f('m', [3], 26), f('v', [3], 27, 0.5, 2)], floatAttrs: ['epsilon'] }) },
  { name: 'InstanceNormalization', inputs: [x([2, 3, 4, 5])], ...one('InstanceNormalization', { epsilon: 1e-5 }, ['x', 's', 'b'], { initializers: [f('s', [3], 28), f('b', [3], 29)], floatAttrs: ['epsilon'] }) },
  {
    name: 'GroupNorm as torch exports it (Reshape, InstanceNormalization, Reshape via Shape, Mul, Add)',
    inputs: [x(['B' as never, 4, 3, 3])],
    initializers: [i64('gshape', [0, 2, -1]), f('ones', [2], 0, 1, 1), f('zeros', [2], 0, 0, 0), f('gw', [4, 1, 1], 30), f('gb', [4, 1, 1], 31)],
    nodes: [
      { op: 'Reshape', inputs: ['x', 'gshape'], outputs: ['g'] },
      { op: 'InstanceNormalization', inputs: ['g', 'ones', 'zeros'], outputs: ['gn'], attrs: { epsilon: 1e-5 } },
      { op: 'Shape', inputs: ['x'], outputs: ['xs'] },
      { op: 'Reshape', inputs: ['gn', 'xs'], outputs: ['back'] },
      { op: 'Mul', inputs: ['back', 'gw'], outputs: ['scaled'] },
      { op: 'Add', inputs: ['scaled', 'gb'], outputs: ['y'] },
    ],
    floatAttrs: ['epsilon'],
  },
  { name: 'GroupNormalization (opset 18)', inputs: [x([2, 4, 3, 3])], ...one('GroupNormalization', { num_groups: 2, epsilon: 1e-5 }, ['x', 's', 'b'], { initializers: [f('s', [2], 32), f('b', [2], 33)], floatAttrs: ['epsilon'], opset: 18 }) },
  { name: 'ReduceMean axes attr (opset 17)', inputs: [x([2, 3, 4, 5])], ...one('ReduceMean', { axes: [2, 3], keepdims: 1 }) },
  { name: 'ReduceMean no keepdims', inputs: [x([2, 3, 4])], ...one('ReduceMean', { axes: [-1], keepdims: 0 }) },
  { name: 'Resize nearest x2 (torch: asymmetric, floor)', inputs: [x([1, 2, 3, 4])], ...one('Resize', { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, ['x', '', 'sc'], { initializers: [{ name: 'sc', type: 'float32', dims: [4], values: [1, 1, 2, 2] }] }) },
  { name: 'Resize nearest by sizes 3x4 -> 7x5 (half_pixel, round_prefer_floor)', inputs: [x([1, 1, 3, 4])], ...one('Resize', { mode: 'nearest' }, ['x', '', '', 'sz'], { initializers: [i64('sz', [1, 1, 7, 5])] }) },
  { name: 'Resize linear x2 (half_pixel)', inputs: [x([1, 2, 3, 4])], ...one('Resize', { mode: 'linear' }, ['x', '', 'sc'], { initializers: [{ name: 'sc', type: 'float32', dims: [4], values: [1, 1, 2, 2] }] }) },
  { name: 'Resize linear x2 (pytorch_half_pixel)', inputs: [x([1, 2, 3, 4])], ...one('Resize', { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' }, ['x', '', 'sc'], { initializers: [{ name: 'sc', type: 'float32', dims: [4], values: [1, 1, 2, 2] }] }) },
  { name: 'Resize linear align_corners by sizes', inputs: [x([1, 1, 3, 4])], ...one('Resize', { mode: 'linear', coordinate_transformation_mode: 'align_corners' }, ['x', '', '', 'sz'], { initializers: [i64('sz', [1, 1, 5, 7])] }) },
  { name: 'MaxPool 2x2', inputs: [x([2, 3, 6, 6])], ...one('MaxPool', { kernel_shape: [2, 2], strides: [2, 2] }) },
  { name: 'MaxPool k3 s2 pads 1 ceil_mode', inputs: [x([1, 2, 6, 6])], ...one('MaxPool', { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 }) },
  { name: 'AveragePool pads, count_include_pad 0', inputs: [x([1, 2, 5, 5])], ...one('AveragePool', { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }) },
  { name: 'AveragePool pads, count_include_pad 1', inputs: [x([1, 2, 5, 5])], ...one('AveragePool', { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 }) },
  { name: 'GlobalAveragePool', inputs: [x([2, 3, 4, 5])], ...one('GlobalAveragePool') },
  { name: 'elementwise chain (Sub, Div, Pow, Sqrt, Neg, Exp, Log, Abs)', inputs: [x([2, 3])],
    initializers: [f('c', [3], 34, 0.5, 1.5), { name: 'two', type: 'float32', dims: [], values: [2] }],
    nodes: [
      { op: 'Sub', inputs: ['x', 'c'], outputs: ['a'] },
      { op: 'Div', inputs: ['a', 'c'], outputs: ['b'] },
      { op: 'Pow', inputs: ['b', 'two'], outputs: ['p'] },
      { op: 'Sqrt', inputs: ['p'], outputs: ['s'] },
      { op: 'Neg', inputs: ['s'], outputs: ['n'] },
      { op: 'Exp', inputs: ['n'], outputs: ['e'] },
      { op: 'Abs', inputs: ['x'], outputs: ['ab'] },
      { op: 'Add', inputs: ['ab', 'c'], outputs: ['ab1'] },
      { op: 'Log', inputs: ['ab1'], outputs: ['l'] },
      { op: 'Mul', inputs: ['e', 'l'], outputs: ['y'] },
    ],
  },
  { name: 'activations (Sigmoid*x, Tanh, Relu, LeakyRelu, Erf, Sin, Cos)', inputs: [x([2, 5], 'x')],
    nodes: [
      { op: 'Sigmoid', inputs: ['x'], outputs: ['sg'] },
      { op: 'Mul', inputs: ['x', 'sg'], outputs: ['silu'] },
      { op: 'Tanh', inputs: ['silu'], outputs: ['th'] },
      { op: 'Relu', inputs: ['x'], outputs: ['r'] },
      { op: 'LeakyRelu', inputs: ['x'], outputs: ['lr'], attrs: { alpha: 0.2 } },
      { op: 'Erf', inputs: ['x'], outputs: ['er'] },
      { op: 'Sin', inputs: ['x'], outputs: ['si'] },
      { op: 'Cos', inputs: ['x'], outputs: ['co'] },
      { op: 'Concat', inputs: ['th', 'r', 'lr', 'er', 'si', 'co'], outputs: ['y'], attrs: { axis: 1 } },
    ],
  },
  { name: 'Slice with steps, negative indices and INT64_MAX ends', inputs: [x([3, 8, 5])],
    initializers: [i64('st', [1, -1, 0]), i64('en', [BIG, -9, BIG]), i64('ax', [0, 1, 2]), i64('sp', [1, -2, 2])],
    nodes: [{ op: 'Slice', inputs: ['x', 'st', 'en', 'ax', 'sp'], outputs: ['y'] }],
  },
  { name: 'chunk (Slice on channels) + Gather negative + Split + Transpose + Flatten', inputs: [x([2, 6, 3])],
    initializers: [i64('s0', [0]), i64('s1', [3]), i64('s2', [6]), i64('a1', [1]), i64('gi', [-1, 0], [2]), i64('sp', [1, 2])],
    nodes: [
      { op: 'Slice', inputs: ['x', 's0', 's1', 'a1'], outputs: ['lo'] },
      { op: 'Slice', inputs: ['x', 's1', 's2', 'a1'], outputs: ['hi'] },
      { op: 'Mul', inputs: ['lo', 'hi'], outputs: ['m'] },
      { op: 'Gather', inputs: ['m', 'gi'], outputs: ['g'], attrs: { axis: 2 } },
      { op: 'Split', inputs: ['g', 'sp'], outputs: ['q', 'k'], attrs: { axis: 1 } },
      { op: 'Transpose', inputs: ['k'], outputs: ['kt'], attrs: { perm: [0, 2, 1] } },
      { op: 'Flatten', inputs: ['kt'], outputs: ['kf'], attrs: { axis: 1 } },
      { op: 'Flatten', inputs: ['q'], outputs: ['qf'], attrs: { axis: 1 } },
      { op: 'Concat', inputs: ['qf', 'kf'], outputs: ['y'], attrs: { axis: 1 } },
    ],
  },
  { name: 'shape arithmetic (Shape, Gather, Unsqueeze, Concat, Range, Cast, Expand, Where, Equal, ConstantOfShape, Squeeze)',
    inputs: [x(['B' as never, 3, 4])],
    initializers: [i64('i0', [0], []), i64('i2', [2], []), i64('zero', [0], []), i64('one', [1], []), i64('ax0', [0]), i64('neg1', [-1])],
    nodes: [
      { op: 'Shape', inputs: ['x'], outputs: ['s'] },
      { op: 'Gather', inputs: ['s', 'i0'], outputs: ['b'], attrs: { axis: 0 } },
      { op: 'Gather', inputs: ['s', 'i2'], outputs: ['w'], attrs: { axis: 0 } },
      { op: 'Range', inputs: ['zero', 'w', 'one'], outputs: ['r'] },
      { op: 'Cast', inputs: ['r'], outputs: ['rf'], attrs: { to: 1 } },
      { op: 'Unsqueeze', inputs: ['b', 'ax0'], outputs: ['bu'] },
      { op: 'Concat', inputs: ['bu', 'neg1'], outputs: ['shp'], attrs: { axis: 0 } },
      { op: 'Unsqueeze', inputs: ['w', 'ax0'], outputs: ['wu'] },
      { op: 'Concat', inputs: ['bu', 'wu'], outputs: ['shpw'], attrs: { axis: 0 } },
      { op: 'ConstantOfShape', inputs: ['shpw'], outputs: ['cs'] },
      { op: 'Equal', inputs: ['shp', 'neg1'], outputs: ['eq'] },
      { op: 'Where', inputs: ['eq', 'one', 'shp'], outputs: ['shp2'] },
      { op: 'Expand', inputs: ['rf', 'shp2'], outputs: ['ex'] },
      { op: 'Unsqueeze', inputs: ['ex', 'one'], outputs: ['exu'] },
      { op: 'Add', inputs: ['x', 'exu'], outputs: ['xa'] },
      { op: 'ReduceSum', inputs: ['cs'], outputs: ['csum'], attrs: { keepdims: 0 } },
      { op: 'Add', inputs: ['xa', 'csum'], outputs: ['xb'] },
      { op: 'Unsqueeze', inputs: ['xb', 'ax0'], outputs: ['xc'] },
      { op: 'Squeeze', inputs: ['xc', 'ax0'], outputs: ['y'] },
    ],
  },
  { name: 'Pad reflect + Clip + Constant', inputs: [x([1, 2, 4, 4])],
    initializers: [i64('pads', [0, 0, 1, 2, 0, 0, 2, 1])],
    nodes: [
      { op: 'Pad', inputs: ['x', 'pads'], outputs: ['p'], attrs: { mode: 'reflect' } },
      { op: 'Constant', inputs: [], outputs: ['lo'], attrs: { value_float: -0.5 } },
      { op: 'Constant', inputs: [], outputs: ['hi'], attrs: { value_float: 0.25 } },
      { op: 'Clip', inputs: ['p', 'lo', 'hi'], outputs: ['y'] },
    ],
    floatAttrs: ['value_float'],
  },
  { name: 'channels-last values mixed with NCHW ones (conv output into Add, Mul by [C,1,1], Concat, pools, Slice, Transpose, Softmax, ReduceMean)',
    inputs: [x([2, 3, 6, 6])],
    initializers: [f('w', [3, 3, 3, 3], 40), f('b', [3], 41), f('cb', [3, 1, 1], 42), f('w2', [4, 6, 1, 1], 43), i64('s0', [1]), i64('s1', [5]), i64('ax', [2])],
    nodes: [
      { op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c1'], attrs: { pads: [1, 1, 1, 1] } },
      { op: 'Add', inputs: ['c1', 'x'], outputs: ['a1'] },
      { op: 'Mul', inputs: ['a1', 'cb'], outputs: ['m1'] },
      { op: 'Sigmoid', inputs: ['m1'], outputs: ['s1x'] },
      { op: 'Concat', inputs: ['s1x', 'x'], outputs: ['cat'], attrs: { axis: 1 } },
      { op: 'Conv', inputs: ['cat', 'w2'], outputs: ['c2'] },
      { op: 'MaxPool', inputs: ['c2'], outputs: ['p'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
      { op: 'Slice', inputs: ['c2', 's0', 's1', 'ax'], outputs: ['sl'] },
      { op: 'ReduceMean', inputs: ['sl'], outputs: ['rm'], attrs: { axes: [2, 3], keepdims: 1 } },
      { op: 'Transpose', inputs: ['p'], outputs: ['tp'], attrs: { perm: [0, 2, 3, 1] } },
      { op: 'Softmax', inputs: ['tp'], outputs: ['sm'], attrs: { axis: 1 } },
      { op: 'Flatten', inputs: ['sm'], outputs: ['f1'] },
      { op: 'GlobalAveragePool', inputs: ['c2'], outputs: ['gp'] },
      { op: 'Add', inputs: ['gp', 'rm'], outputs: ['gr'] },
      { op: 'Flatten', inputs: ['gr'], outputs: ['f2'] },
      { op: 'Concat', inputs: ['f1', 'f2'], outputs: ['y'], attrs: { axis: 1 } },
    ],
  },
  { name: 'torch GroupNorm export on a conv output (fused, channels-last)', inputs: [x([2, 2, 5, 5])],
    initializers: [f('w', [4, 2, 3, 3], 44), i64('gshape', [0, 2, -1]), f('ones', [2], 0, 1, 1), f('zeros', [2], 0, 0, 0), f('gw', [4, 1, 1], 45), f('gb', [4, 1, 1], 46), { name: 'up', type: 'float32', dims: [4], values: [1, 1, 2, 2] }],
    nodes: [
      { op: 'Conv', inputs: ['x', 'w'], outputs: ['h'], attrs: { pads: [1, 1, 1, 1] } },
      { op: 'Reshape', inputs: ['h', 'gshape'], outputs: ['g'] },
      { op: 'InstanceNormalization', inputs: ['g', 'ones', 'zeros'], outputs: ['gn'], attrs: { epsilon: 1e-5 } },
      { op: 'Shape', inputs: ['h'], outputs: ['hs'] },
      { op: 'Reshape', inputs: ['gn', 'hs'], outputs: ['back'] },
      { op: 'Mul', inputs: ['back', 'gw'], outputs: ['scaled'] },
      { op: 'Add', inputs: ['scaled', 'gb'], outputs: ['n'] },
      { op: 'Resize', inputs: ['n', '', 'up'], outputs: ['y'], attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' } },
    ],
    floatAttrs: ['epsilon'],
  },
  { name: 'opset 11 forms (Softmax flattening at axis, Unsqueeze/Squeeze/ReduceSum axes as attributes, Split attr)', inputs: [x([2, 3, 4])],
    opset: 11,
    nodes: [
      { op: 'Softmax', inputs: ['x'], outputs: ['sm'], attrs: { axis: 1 } },
      { op: 'Unsqueeze', inputs: ['sm'], outputs: ['u'], attrs: { axes: [0, 3] } },
      { op: 'Squeeze', inputs: ['u'], outputs: ['sq'], attrs: { axes: [0] } },
      { op: 'ReduceSum', inputs: ['sq'], outputs: ['rs'], attrs: { axes: [2], keepdims: 0 } },
      { op: 'Split', inputs: ['rs'], outputs: ['a', 'b'], attrs: { axis: 2, split: [1, 3] } },
      { op: 'Mul', inputs: ['a', 'b'], outputs: ['y'] },
    ],
  },
];

const feedsFor = (c: Case, batch: number): Feed[] =>
  c.inputs.map((v, k) => {
    const shape = v.shape.map((d) => (typeof d === 'string' ? batch : d));
    return { name: v.name, type: 'float32', shape, data: seeded(shape.reduce((a, b) => a * b, 1), 100 + k, v.lo ?? -1, v.hi ?? 1) };
  });

const bytesFor = (c: Case): Uint8Array =>
  buildOnnxModel({
    name: c.name,
    inputs: c.inputs.map((v) => ({ name: v.name, type: v.type, shape: v.shape })),
    outputs: c.outputs ?? [y],
    nodes: c.nodes,
    initializers: c.initializers ?? [],
    ...(c.opset === undefined ? {} : { opset: c.opset }),
    ...(c.floatAttrs === undefined ? {} : { floatAttrs: c.floatAttrs }),
  });

describe('convolutions padded with tf.pad first (the path for backends other than wasm and cpu)', () => {
  afterEach(() => {
    convPadding.mode = 'auto';
  });
  for (const c of cases.filter((k) => k.nodes.some((n) => n.op === 'Conv'))) {
    it(c.name, async () => {
      const bytes = bytesFor(c);
      const feeds = feedsFor(c, 2);
      const [expected] = await runOrt(bytes, feeds, ['y']);
      convPadding.mode = 'pad-first';
      const [actual] = await runTfjs(bytes, feeds, ['y'], 'wasm');
      expect(maxAbsDiff(actual!, expected!)).toBeLessThanOrEqual(1e-4);
    });
  }
});

describe('ONNX ops on tfjs agree with onnxruntime', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const bytes = bytesFor(c);
      const feeds = feedsFor(c, 2);
      const [expected] = await runOrt(bytes, feeds, ['y']);
      for (const device of ['wasm', 'cpu'] as const) {
        const [actual] = await runTfjs(bytes, feeds, ['y'], device);
        expect(actual!.length, `${device}: output size`).toBe(expected!.length);
        expect(maxAbsDiff(actual!, expected!), device).toBeLessThanOrEqual(1e-4);
      }
    });
  }
});
