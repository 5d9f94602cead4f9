// What every op family shares: the kernel contract (compile once at load, run per batch), the table entry
// shape, and the attribute/input helpers.
import type { AttrValue, NodeIR } from '../proto.js';
import { type DType, type Tensor, type Tf, type Value, shapeOf, sizeOf, wrap } from '../values.js';

/** What a kernel can use while it runs. */
export interface RunContext {
  readonly tf: Tf;
  /** The value as a tfjs tensor in its logical (ONNX) layout; host arrays are uploaded, static ones once. */
  tensor(v: Value): Tensor;
  /**
   * The value channels-last: a logical [N,C,H,W] as [N,H,W,C]; a lower-rank value that broadcasts against
   * one (a [C,1,1] bias, a [N,C,1,1] embedding) is padded to rank 4 first. Static values are converted once.
   */
  nhwc(v: Value): Tensor;
}

export type Kernel = (inputs: readonly (Value | undefined)[], ctx: RunContext) => Value[];

/**
 * How convolutions hand ONNX's pads to tfjs: 'auto' uses tfjs explicit padding where it is verified against
 * onnxruntime (the wasm and cpu backends) and tf.pad before a 'valid' conv elsewhere (e.g. tfjs-node's
 * 'tensorflow'); the other two force one way (tests run the pad-first path on wasm with 'pad-first').
 */
export type ConvPadding = 'auto' | 'explicit' | 'pad-first';

/** Choices made when a graph is compiled; every field has a default. */
export interface OpOptions {
  readonly convPadding?: ConvPadding;
}

/** What an op sees when its node is compiled at load time. */
export interface CompileContext extends RunContext {
  readonly opset: number;
  /** Compile options (absent: every default). */
  readonly options?: OpOptions;
  /** The load-time value of input i when it is an initializer, a Constant or folded from them. */
  staticInput(i: number): Value | undefined;
  /** Keeps a tensor made at load time (a re-laid-out weight) until the model is disposed. */
  keep(t: Tensor): Tensor;
}

export type OpCompiler = (node: NodeIR, c: CompileContext) => Kernel;

/** One row of the op table: an ONNX op type (default domain) and the compiler that implements it. */
export interface OpEntry {
  readonly op: string;
  readonly compile: OpCompiler;
  /**
   * The opsets this implementation covers, when narrower than every opset that defines the op (as in
   * onnxruntime-web's resolve rules). Absent: every opset the op exists in; `to` absent: no upper bound.
   */
  readonly opsets?: { readonly from: number; readonly to?: number };
  /** What of the op is supported when not all of it (shown in the supported-op list). */
  readonly note?: string;
}

// ---------------------------------------------------------------------------------------------------------
// attribute and input helpers

export const attr = (node: NodeIR, name: string): AttrValue | undefined => node.attrs.get(name);
export const attrInt = (node: NodeIR, name: string, dflt: number): number => {
  const v = attr(node, name);
  return typeof v === 'number' ? v : dflt;
};
export const attrFloat = attrInt;
export const attrInts = (node: NodeIR, name: string): number[] | undefined => {
  const v = attr(node, name);
  return Array.isArray(v) ? (v as number[]) : typeof v === 'number' ? [v] : undefined;
};
export const attrString = (node: NodeIR, name: string, dflt: string): string => {
  const v = attr(node, name);
  return typeof v === 'string' ? v : dflt;
};

export const req = (inputs: readonly (Value | undefined)[], i: number, node: NodeIR): Value => {
  const v = inputs[i];
  if (v === undefined) throw new Error(`${node.op} node '${node.name}' needs input ${i}`);
  return v;
};

/** An optional input given as an empty name or an empty tensor counts as absent. */
export const present = (v: Value | undefined): v is Value => v !== undefined && sizeOf(shapeOf(v)) > 0;

export const out = (_ctx: RunContext, v: Tensor, dtype?: DType): Value => wrap(v, dtype);

export type TF4 = import('@tensorflow/tfjs').Tensor4D;
