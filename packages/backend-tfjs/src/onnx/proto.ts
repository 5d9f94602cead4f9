// Decoding an ONNX file (protobuf, via onnx-proto) into a small plain-JS graph description: nodes with their
// attributes already turned into JS values, initializers as typed arrays, inputs/outputs with dtypes and shapes.
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import type { HostValue, DType } from './values.js';

// onnx-proto is CommonJS: under plain node only the default export exists.
const { onnx } = onnxProto;

type Long = { toNumber(): number };
/** int64 fields decode as numbers or Long objects depending on protobufjs's setup; huge values stay huge. */
export const toNum = (v: number | Long | null | undefined): number =>
  v === null || v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber();

export type AttrValue = number | number[] | string | string[] | HostValue;

export interface NodeIR {
  readonly op: string;
  readonly domain: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: ReadonlyMap<string, AttrValue>;
}

export interface ValueInfoIR {
  readonly name: string;
  /** float32, int64, ... or `elem type N` for types this backend does not know. */
  readonly dtype: string | undefined;
  /** number for a fixed dim, string for a symbolic one, undefined when the graph says nothing. */
  readonly shape: readonly (number | string)[] | undefined;
}

export interface GraphIR {
  readonly opset: number;
  readonly inputs: readonly ValueInfoIR[];
  readonly outputs: readonly ValueInfoIR[];
  readonly initializers: ReadonlyMap<string, HostValue>;
  readonly nodes: readonly NodeIR[];
  readonly producer: string;
}

const T = onnx.TensorProto.DataType;

/** ONNX element type -> the dtype this backend tracks (int64 runs as int32 in tfjs; the label is kept). */
export function dtypeOf(elemType: number): DType | undefined {
  switch (elemType) {
    case T.FLOAT:
    case T.DOUBLE:
    case T.FLOAT16:
      return 'float32';
    case T.INT64:
      return 'int64';
    case T.INT32:
    case T.INT16:
    case T.INT8:
    case T.UINT8:
      return 'int32';
    case T.BOOL:
      return 'bool';
    default:
      return undefined;
  }
}

const elemTypeName = (elemType: number): string => {
  const names: Record<number, string> = { [T.FLOAT]: 'float32', [T.INT64]: 'int64', [T.INT32]: 'int32', [T.BOOL]: 'bool', [T.DOUBLE]: 'float64', [T.FLOAT16]: 'float16', [T.UINT8]: 'uint8', [T.INT8]: 'int8' };
  return names[elemType] ?? `elem type ${elemType}`;
};

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Decodes a TensorProto (initializer or Constant attribute) into a host value. Throws with a reason. */
export function decodeTensor(t: OnnxTypes.ITensorProto): HostValue {
  const shape = (t.dims ?? []).map(toNum);
  const size = shape.reduce((a, b) => a * b, 1);
  const elemType = t.dataType ?? 0;
  const dtype = dtypeOf(elemType);
  if (dtype === undefined) throw new Error(`tensor '${t.name ?? ''}' has unsupported element type ${elemTypeName(elemType)}`);
  if ((t.externalData?.length ?? 0) > 0 || t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new Error(`tensor '${t.name ?? ''}' keeps its data in an external file, which this backend does not read (save the model with its weights inside)`);
  }
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : null;
  const need = (bytes: number): void => {
    if (raw && raw.byteLength < size * bytes) throw new Error(`tensor '${t.name ?? ''}' holds ${raw.byteLength} bytes, its shape [${shape.join(',')}] needs ${size * bytes}`);
  };
  if (dtype === 'float32') {
    const out = new Float32Array(size);
    if (view) {
      const bytes = elemType === T.DOUBLE ? 8 : elemType === T.FLOAT16 ? 2 : 4;
      need(bytes);
      for (let i = 0; i < size; i++) {
        out[i] = bytes === 8 ? view.getFloat64(i * 8, true) : bytes === 2 ? halfToFloat(view.getUint16(i * 2, true)) : view.getFloat32(i * 4, true);
      }
    } else if (elemType === T.DOUBLE) {
      out.set((t.doubleData ?? []).slice(0, size));
    } else if (elemType === T.FLOAT16) {
      (t.int32Data ?? []).slice(0, size).forEach((h, i) => (out[i] = halfToFloat(h)));
    } else {
      const src = t.floatData ?? [];
      if (src.length < size) throw new Error(`tensor '${t.name ?? ''}' holds ${src.length} floats, its shape needs ${size}`);
      out.set(src.slice(0, size));
    }
    return { kind: 'host', dtype, shape, data: out };
  }
  const out: number[] = new Array<number>(size);
  if (view) {
    const bytes = elemType === T.INT64 ? 8 : elemType === T.INT32 ? 4 : elemType === T.INT16 ? 2 : 1;
    need(bytes);
    for (let i = 0; i < size; i++) {
      out[i] =
        bytes === 8 ? Number(view.getBigInt64(i * 8, true)) : bytes === 4 ? view.getInt32(i * 4, true) : bytes === 2 ? view.getInt16(i * 2, true) : elemType === T.INT8 ? view.getInt8(i) : view.getUint8(i);
    }
  } else {
    const src = elemType === T.INT64 ? (t.int64Data ?? []).map(toNum) : (t.int32Data ?? []);
    if (src.length < size) throw new Error(`tensor '${t.name ?? ''}' holds ${src.length} values, its shape needs ${size}`);
    for (let i = 0; i < size; i++) out[i] = src[i] as number;
  }
  if (dtype === 'bool') for (let i = 0; i < size; i++) out[i] = out[i] ? 1 : 0;
  return { kind: 'host', dtype, shape, data: out };
}

function decodeAttr(a: OnnxTypes.IAttributeProto): AttrValue {
  const A = onnx.AttributeProto.AttributeType;
  const dec = new TextDecoder();
  switch (a.type) {
    case A.FLOAT:
      return a.f ?? 0;
    case A.INT:
      return toNum(a.i);
    case A.STRING:
      return dec.decode(a.s ?? new Uint8Array());
    case A.FLOATS:
      return [...(a.floats ?? [])];
    case A.INTS:
      return (a.ints ?? []).map(toNum);
    case A.STRINGS:
      return (a.strings ?? []).map((s) => dec.decode(s));
    case A.TENSOR:
      return decodeTensor(a.t ?? {});
    default:
      // Older writers leave `type` unset: infer from which field is filled.
      if (a.t) return decodeTensor(a.t);
      if (a.ints && a.ints.length > 0) return a.ints.map(toNum);
      if (a.floats && a.floats.length > 0) return [...a.floats];
      if (a.s && a.s.length > 0) return dec.decode(a.s);
      if (a.i !== undefined && a.i !== null && toNum(a.i) !== 0) return toNum(a.i);
      return a.f ?? 0;
  }
}

function valueInfo(v: OnnxTypes.IValueInfoProto): ValueInfoIR {
  const tt = v.type?.tensorType;
  const dims = tt?.shape?.dim;
  return {
    name: v.name ?? '',
    dtype: tt?.elemType === undefined || tt.elemType === null ? undefined : elemTypeName(tt.elemType),
    shape:
      dims === undefined || dims === null || tt?.shape === null
        ? undefined
        : dims.map((d) => (d.dimValue !== undefined && d.dimValue !== null && toNum(d.dimValue) > 0 ? toNum(d.dimValue) : (d.dimParam ?? '?'))),
  };
}

/** Decodes ONNX bytes into a GraphIR; throws (with a reason) when the bytes are not a usable ONNX model. */
export function parseOnnx(bytes: Uint8Array): GraphIR {
  const model = onnx.ModelProto.decode(bytes);
  const g = model.graph;
  if (g === null || g === undefined || (g.node?.length ?? 0) === 0) throw new Error('the file decodes, but holds no ONNX graph');
  const opsetEntry = (model.opsetImport ?? []).find((o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx');
  const initializers = new Map<string, HostValue>();
  for (const t of g.initializer ?? []) initializers.set(t.name ?? '', decodeTensor(t));
  const nodes: NodeIR[] = (g.node ?? []).map((n, i) => ({
    op: n.opType ?? '',
    domain: n.domain ?? '',
    name: n.name && n.name.length > 0 ? n.name : `${n.opType ?? 'node'}_${i}`,
    inputs: [...(n.input ?? [])],
    outputs: [...(n.output ?? [])],
    attrs: new Map((n.attribute ?? []).map((a) => [a.name ?? '', decodeAttr(a)])),
  }));
  return {
    opset: toNum(opsetEntry?.version ?? 0),
    // IR < 4 lists initializers among the inputs too: those are not inputs the caller feeds.
    inputs: (g.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map(valueInfo),
    outputs: (g.output ?? []).map(valueInfo),
    initializers,
    nodes,
    producer: `${model.producerName ?? ''} ${model.producerVersion ?? ''}`.trim(),
  };
}
