// The values flowing through an ONNX graph on tfjs: a tfjs tensor, or a small host array (shape arithmetic,
// constants). int64 is tracked as a label; tfjs holds it as int32 (shape values and timesteps fit easily).
import type * as TF from '@tensorflow/tfjs';

export type Tf = typeof TF;
export type Tensor = TF.Tensor;
export type DType = 'float32' | 'int64' | 'int32' | 'bool';

export interface HostValue {
  readonly kind: 'host';
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Float32Array for float32, plain numbers for integers and bools (0/1). */
  readonly data: Float32Array | readonly number[];
}

export interface TensorValue {
  readonly kind: 'tensor';
  readonly dtype: DType;
  readonly tensor: Tensor;
  /**
   * True when `tensor` holds a logical NCHW value channels-last ([N,H,W,C]), as tfjs convolutions produce it.
   * Layout-aware ops (convs, pools, elementwise, GroupNorm, Resize, Concat on channels) keep it so; every
   * other op reads the value through RunContext.tensor, which transposes it back to NCHW.
   */
  readonly nhwc?: boolean;
}

export type Value = HostValue | TensorValue;

/** Host arrays above this many elements go to tfjs even when every input is on the host. */
export const HOST_LIMIT = 4096;

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export const shapeOf = (v: Value): readonly number[] => {
  if (v.kind === 'host') return v.shape;
  const s = v.tensor.shape;
  return v.nhwc === true ? [s[0] as number, s[3] as number, s[1] as number, s[2] as number] : s;
};

export const isSmallHost = (v: Value | undefined): v is HostValue => v !== undefined && v.kind === 'host' && v.data.length <= HOST_LIMIT;

export const host = (dtype: DType, shape: readonly number[], data: ArrayLike<number>): HostValue => ({
  kind: 'host',
  dtype,
  shape: [...shape],
  data: dtype === 'float32' ? Float32Array.from(data) : Array.from(data, (v) => (dtype === 'bool' ? (v ? 1 : 0) : v)),
});

export const tfDtype = (d: DType): 'float32' | 'int32' | 'bool' => (d === 'float32' ? 'float32' : d === 'bool' ? 'bool' : 'int32');

/** The ONNX dtype label for a tensor when nothing better is known. */
export const dtypeFromTensor = (t: Tensor): DType => (t.dtype === 'float32' ? 'float32' : t.dtype === 'bool' ? 'bool' : 'int64');

export const wrap = (tensor: Tensor, dtype?: DType): TensorValue => ({ kind: 'tensor', dtype: dtype ?? dtypeFromTensor(tensor), tensor });

/** A channels-last tensor standing for a logical NCHW value. */
export const wrapNHWC = (tensor: Tensor, dtype: DType = 'float32'): TensorValue => ({ kind: 'tensor', dtype, tensor, nhwc: true });

export const isNHWC = (v: Value | undefined): boolean => v !== undefined && v.kind === 'tensor' && v.nhwc === true;

const INT32_MAX = 2147483647;
const INT32_MIN = -2147483648;

/** A host array as a new tfjs tensor (int64 values clamped into int32). */
export function hostToTensor(tf: Tf, v: HostValue): Tensor {
  if (v.dtype === 'float32') return tf.tensor(v.data as Float32Array, [...v.shape], 'float32');
  if (v.dtype === 'bool') return tf.tensor(Uint8Array.from(v.data), [...v.shape], 'bool');
  const ints = Int32Array.from(v.data, (x) => Math.max(INT32_MIN, Math.min(INT32_MAX, x)));
  return tf.tensor(ints, [...v.shape], 'int32');
}

/** Reads a value's data on the host (a tensor is downloaded: only for small shape-like tensors). */
export function hostData(v: Value): readonly number[] | Float32Array {
  if (v.kind === 'host') return v.data;
  if (v.nhwc === true) throw new Error('internal: a channels-last tensor read as host data');
  const d = v.tensor.dataSync();
  return d instanceof Float32Array ? d : Array.from(d as ArrayLike<number>);
}

export function toHost(v: Value): HostValue {
  return v.kind === 'host' ? v : host(v.dtype, v.tensor.shape, hostData(v));
}

/** Integer list from a shape-like input (Reshape shape, Slice starts, axes, ...). */
export const ints = (v: Value): number[] => Array.from(hostData(v), (x) => Math.trunc(x));

export const floats = (v: Value): number[] => Array.from(hostData(v));

/** Normalises a possibly negative axis for a tensor of the given rank. */
export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= Math.max(rank, 1)) throw new Error(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** numpy-style broadcast of two shapes. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`shapes [${a.join(',')}] and [${b.join(',')}] do not broadcast`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

export const stridesOf = (shape: readonly number[]): number[] => {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = (s[i + 1] as number) * (shape[i + 1] as number);
  return s;
};

/** Flat index into an input of `inShape` for each flat index of the broadcast `outShape`. */
export function broadcastIndex(inShape: readonly number[], outShape: readonly number[]): Int32Array {
  const n = sizeOf(outShape);
  const out = new Int32Array(n);
  const rank = outShape.length;
  const padded = [...new Array<number>(rank - inShape.length).fill(1), ...inShape];
  const inStrides = stridesOf(padded).map((s, i) => (padded[i] === 1 ? 0 : s));
  const outStrides = stridesOf(outShape);
  for (let i = 0; i < n; i++) {
    let rem = i;
    let idx = 0;
    for (let d = 0; d < rank; d++) {
      const q = Math.floor(rem / (outStrides[d] as number));
      rem -= q * (outStrides[d] as number);
      idx += q * (inStrides[d] as number);
    }
    out[i] = idx;
  }
  return out;
}

/** Elementwise op over broadcast host arrays. */
export function hostBinary(a: HostValue, b: HostValue, dtype: DType, fn: (x: number, y: number) => number): HostValue {
  const shape = broadcastShapes(a.shape, b.shape);
  const ia = broadcastIndex(a.shape, shape);
  const ib = broadcastIndex(b.shape, shape);
  const out = new Array<number>(ia.length);
  for (let i = 0; i < ia.length; i++) out[i] = fn(a.data[ia[i] as number] as number, b.data[ib[i] as number] as number);
  return host(dtype, shape, out);
}
