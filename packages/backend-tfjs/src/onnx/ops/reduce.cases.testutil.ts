// onnxruntime agreement cases: reductions and (Log)Softmax, in their opset 11, 13 and 18 forms.
import { type OpCase, i64, one, x } from './cases.testutil.js';

export const REDUCE_CASES: readonly OpCase[] = [
  { name: 'Softmax axis 1 (opset 13+)', inputs: [x([2, 3, 4])], ...one('Softmax', { axis: 1 }) },
  { name: 'Softmax default axis', inputs: [x([2, 3, 4])], ...one('Softmax') },
  { name: 'ReduceMean axes attr (opset 17)', inputs: [x([2, 3, 4, 5])], ...one('ReduceMean', { axes: [2, 3], keepdims: 1 }) },
  { name: 'ReduceMean no keepdims', inputs: [x([2, 3, 4])], ...one('ReduceMean', { axes: [-1], keepdims: 0 }) },
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
  { name: 'ReduceMax, ReduceMin axes as attributes (opset 17)', inputs: [x([2, 3, 4])],
    outputs: [{ name: 'mx', type: 'float32', shape: [] }, { name: 'mn', type: 'float32', shape: [] }],
    nodes: [
      { op: 'ReduceMax', inputs: ['x'], outputs: ['mx'], attrs: { axes: [1], keepdims: 1 } },
      { op: 'ReduceMin', inputs: ['x'], outputs: ['mn'], attrs: { axes: [0, -1], keepdims: 0 } },
    ],
  },
  { name: 'ReduceMax, ReduceMin, ReduceMean axes as an input (opset 18), and over all axes', inputs: [x([2, 3, 4])], opset: 18,
    initializers: [i64('a1', [1]), i64('a02', [0, 2])],
    outputs: [{ name: 'mx', type: 'float32', shape: [] }, { name: 'mn', type: 'float32', shape: [] }, { name: 'me', type: 'float32', shape: [] }, { name: 'all', type: 'float32', shape: [] }],
    nodes: [
      { op: 'ReduceMax', inputs: ['x', 'a1'], outputs: ['mx'], attrs: { keepdims: 0 } },
      { op: 'ReduceMin', inputs: ['x', 'a02'], outputs: ['mn'] },
      { op: 'ReduceMean', inputs: ['x', 'a02'], outputs: ['me'], attrs: { keepdims: 0 } },
      { op: 'ReduceMax', inputs: ['x'], outputs: ['all'], attrs: { keepdims: 0 } },
    ],
  },
  { name: 'LogSoftmax axis 1 and default axis (opset 13+)', inputs: [x([2, 3, 4], 'x', { lo: -4, hi: 4 })],
    outputs: [{ name: 'a1', type: 'float32', shape: [] }, { name: 'y', type: 'float32', shape: [] }],
    nodes: [
      { op: 'LogSoftmax', inputs: ['x'], outputs: ['a1'], attrs: { axis: 1 } },
      { op: 'LogSoftmax', inputs: ['x'], outputs: ['y'] },
    ],
  },
  { name: 'LogSoftmax opset 11 (flattened at axis)', inputs: [x([2, 3, 4])], opset: 11, ...one('LogSoftmax', { axis: 1 }) },
];
