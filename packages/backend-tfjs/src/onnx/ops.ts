// The op table: which ONNX ops (default domain) this backend runs and which code runs each, merged from the op
// families in ./ops/ (each family file exports its entries, as onnxruntime-web's resolve rules do). The merge
// refuses an op claimed twice; graph.ts asks resolveOp / compilerFor and nothing else.
import { either as E } from 'fp-ts';
import type { NodeIR } from './proto.js';
import { CONV_POOL_OPS } from './ops/conv-pool.js';
import { ELEMENTWISE_OPS } from './ops/elementwise.js';
import type { OpCompiler, OpEntry } from './ops/kernel.js';
import { MATMUL_OPS } from './ops/matmul.js';
import { NORMALIZATION_OPS } from './ops/normalization.js';
import { REDUCE_OPS } from './ops/reduce.js';
import { RESIZE_OPS } from './ops/resize.js';
import { SHAPE_OPS } from './ops/shape.js';
import { TORCH_GROUP_NORM, torchGroupNorm } from './ops/torch-group-norm.js';

export type { CompileContext, ConvPadding, Kernel, OpCompiler, OpEntry, OpOptions, RunContext } from './ops/kernel.js';
export { fuseTorchGroupNorm } from './ops/torch-group-norm.js';

/** A table row with the family (file under ./ops/) it comes from. */
export interface OpTableEntry extends OpEntry {
  readonly family: string;
}

export interface DuplicateOp {
  readonly kind: 'duplicate-op';
  readonly message: string;
  readonly op: string;
  readonly families: readonly [string, string];
}

/** Merges family entry lists into one table; an op listed twice (in one family or two) is refused. */
export function mergeOpFamilies(families: Readonly<Record<string, readonly OpEntry[]>>): E.Either<DuplicateOp, ReadonlyMap<string, OpTableEntry>> {
  const table = new Map<string, OpTableEntry>();
  for (const [family, entries] of Object.entries(families)) {
    for (const entry of entries) {
      const taken = table.get(entry.op);
      if (taken !== undefined) {
        return E.left({
          kind: 'duplicate-op',
          message: `op '${entry.op}' is implemented twice (families '${taken.family}' and '${family}'); keep one`,
          op: entry.op,
          families: [taken.family, family],
        });
      }
      table.set(entry.op, { ...entry, family });
    }
  }
  return E.right(table);
}

/** The op families, by the name of their file under ./ops/. */
export const OP_FAMILIES: Readonly<Record<string, readonly OpEntry[]>> = {
  elementwise: ELEMENTWISE_OPS,
  'conv-pool': CONV_POOL_OPS,
  normalization: NORMALIZATION_OPS,
  reduce: REDUCE_OPS,
  matmul: MATMUL_OPS,
  shape: SHAPE_OPS,
  resize: RESIZE_OPS,
};

/** Every ONNX op this backend runs (default domain). Anything else is refused when the model loads. */
export const OP_TABLE: ReadonlyMap<string, OpTableEntry> = E.getOrElseW((e: DuplicateOp): never => {
  // A programming error in this package: the module cannot be used with a table it cannot trust.
  throw new Error(e.message);
})(mergeOpFamilies(OP_FAMILIES));

export const SUPPORTED_OPS: readonly string[] = [...OP_TABLE.keys()].sort();

const inRange = (e: OpEntry, opset: number): boolean => e.opsets === undefined || (opset >= e.opsets.from && (e.opsets.to === undefined || opset <= e.opsets.to));

/** The compiler for an ONNX op at the model's opset, or undefined when the table has none for that opset. */
export function resolveOp(op: string, opset: number): OpCompiler | undefined {
  const e = OP_TABLE.get(op);
  return e !== undefined && inRange(e, opset) ? e.compile : undefined;
}

/** The compiler for a node of a (rewritten) graph: the table's, or the kernel of a fused node this package made. */
export function compilerFor(node: NodeIR, opset: number): OpCompiler | undefined {
  return node.op === TORCH_GROUP_NORM ? torchGroupNorm : resolveOp(node.op, opset);
}

/** One line per supported op: 'Name', plus its opset range and what of it is supported when not all of it. */
export function describeSupportedOps(): string[] {
  return SUPPORTED_OPS.map((op) => {
    const e = OP_TABLE.get(op) as OpTableEntry;
    const range = e.opsets === undefined ? [] : [`opset ${e.opsets.from}${e.opsets.to === undefined ? '+' : `-${e.opsets.to}`}`];
    const parts = [...range, ...(e.note === undefined ? [] : [e.note])];
    return parts.length === 0 ? op : `${op} (${parts.join('; ')})`;
  });
}
