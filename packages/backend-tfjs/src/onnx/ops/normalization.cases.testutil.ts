// onnxruntime agreement cases: InstanceNormalization, GroupNormalization, BatchNormalization and LayerNormalization.
import { type OpCase, f, one, x } from './cases.testutil.js';

export const NORMALIZATION_CASES: readonly OpCase[] = [
  { name: 'LayerNormalization', inputs: [x([2, 3, 4])], ...one('LayerNormalization', { axis: -1, epsilon: 1e-5 }, ['x', 's', 'b'], { initializers: [f('s', [4], 22), f('b', [4], 23)], floatAttrs: ['epsilon'] }) },
  { name: 'BatchNormalization (inference)', inputs: [x([2, 3, 4, 4])], ...one('BatchNormalization', { epsilon: 1e-5 }, ['x', 's', 'b', 'm', 'v'], { initializers: [f('s', [3], 24), f('b', [3], 25), f('m', [3], 26), f('v', [3], 27, 0.5, 2)], floatAttrs: ['epsilon'] }) },
  { name: 'InstanceNormalization', inputs: [x([2, 3, 4, 5])], ...one('InstanceNormalization', { epsilon: 1e-5 }, ['x', 's', 'b'], { initializers: [f('s', [3], 28), f('b', [3], 29)], floatAttrs: ['epsilon'] }) },
  { name: 'GroupNormalization (opset 18)', inputs: [x([2, 4, 3, 3])], ...one('GroupNormalization', { num_groups: 2, epsilon: 1e-5 }, ['x', 's', 'b'], { initializers: [f('s', [2], 32), f('b', [2], 33)], floatAttrs: ['epsilon'], opset: 18 }) },
];
