import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

// onnx-proto is CommonJS: under plain node only the default export exists.
const { onnx } = onnxProto;
export { onnx };

export type AttrValue = number | number[] | string;

/** One graph node in a compact form: op type, inputs, outputs, attributes (ints/floats/strings inferred). */
export interface NodeSpec {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs?: Readonly<Record<string, AttrValue>>;
  readonly name?: string;
}

export interface ValueSpec {
  readonly name: string;
  readonly type: 'float32' | 'int64';
  /** A string is a symbolic (dynamic) dimension such as 'B'. */
  readonly shape: readonly (number | string)[];
}

export interface InitializerSpec {
  readonly name: string;
  readonly type: 'float32' | 'int64';
  readonly dims: readonly number[];
  readonly values: readonly number[];
}

const elemType = (t: 'float32' | 'int64'): number =>
  t === 'float32' ? onnx.TensorProto.DataType.FLOAT : onnx.TensorProto.DataType.INT64;

function attribute(name: string, value: AttrValue): OnnxTypes.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) {
    return value.every(Number.isInteger) ? { name, type: T.INTS, ints: value } : { name, type: T.FLOATS, floats: value };
  }
  return Number.isInteger(value) ? { name, type: T.INT, i: value } : { name, type: T.FLOAT, f: value };
}

const valueInfo = (v: ValueSpec): OnnxTypes.IValueInfoProto => ({
  name: v.name,
  type: {
    tensorType: {
      elemType: elemType(v.type),
      shape: { dim: v.shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
    },
  },
});

function tensor(init: InitializerSpec): OnnxTypes.ITensorProto {
  const base = { name: init.name, dims: [...init.dims], dataType: elemType(init.type) };
  return init.type === 'float32'
    ? { ...base, rawData: new Uint8Array(Float32Array.from(init.values).buffer) }
    : { ...base, int64Data: [...init.values] };
}

/**
 * Encodes a small ONNX model (opset 17 by default). Used to build test models in code, so the conformance
 * suite and backend tests need no binary fixtures. A whole-number attribute is written as INT unless its name
 * is listed in `floatAttrs` (e.g. Gemm's `alpha`).
 */
export function buildOnnxModel(graph: {
  readonly name: string;
  readonly inputs: readonly ValueSpec[];
  readonly outputs: readonly ValueSpec[];
  readonly nodes: readonly NodeSpec[];
  readonly initializers?: readonly InitializerSpec[];
  readonly opset?: number;
  readonly floatAttrs?: readonly string[];
}): Uint8Array {
  const floatAttrs = new Set(graph.floatAttrs ?? []);
  const model: OnnxTypes.IModelProto = {
    irVersion: 8,
    producerName: 'densepure-test-builder',
    opsetImport: [{ domain: '', version: graph.opset ?? 17 }],
    graph: {
      name: graph.name,
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
      initializer: (graph.initializers ?? []).map(tensor),
      node: graph.nodes.map((n, i) => ({
        opType: n.op,
        name: n.name ?? `${n.op}_${i}`,
        input: [...n.inputs],
        output: [...n.outputs],
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) =>
          floatAttrs.has(k) && typeof v === 'number'
            ? { name: k, type: onnx.AttributeProto.AttributeType.FLOAT, f: v }
            : attribute(k, v),
        ),
      })),
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}
