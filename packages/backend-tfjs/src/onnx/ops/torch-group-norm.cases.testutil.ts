// onnxruntime agreement cases: torch's GroupNorm export (fused into one node at load).
import { type OpCase, f, i64, x } from './cases.testutil.js';

export const TORCH_GROUP_NORM_CASES: readonly OpCase[] = [
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
];
