// onnxruntime agreement cases: Resize, nearest and linear, by scales and by sizes.
import { type OpCase, i64, one, x } from './cases.testutil.js';

export const RESIZE_CASES: readonly OpCase[] = [
  { name: 'Resize nearest x2 (torch: asymmetric, floor)', inputs: [x([1, 2, 3, 4])], ...one('Resize', { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, ['x', '', 'sc'], { initializers: [{ name: 'sc', type: 'float32', dims: [4], values: [1, 1, 2, 2] }] }) },
  { name: 'Resize nearest by sizes 3x4 -> 7x5 (half_pixel, round_prefer_floor)', inputs: [x([1, 1, 3, 4])], ...one('Resize', { mode: 'nearest' }, ['x', '', '', 'sz'], { initializers: [i64('sz', [1, 1, 7, 5])] }) },
  { name: 'Resize linear x2 (half_pixel)', inputs: [x([1, 2, 3, 4])], ...one('Resize', { mode: 'linear' }, ['x', '', 'sc'], { initializers: [{ name: 'sc', type: 'float32', dims: [4], values: [1, 1, 2, 2] }] }) },
  { name: 'Resize linear x2 (pytorch_half_pixel)', inputs: [x([1, 2, 3, 4])], ...one('Resize', { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' }, ['x', '', 'sc'], { initializers: [{ name: 'sc', type: 'float32', dims: [4], values: [1, 1, 2, 2] }] }) },
  { name: 'Resize linear align_corners by sizes', inputs: [x([1, 1, 3, 4])], ...one('Resize', { mode: 'linear', coordinate_transformation_mode: 'align_corners' }, ['x', '', '', 'sz'], { initializers: [i64('sz', [1, 1, 5, 7])] }) },
];
