// Where an onnxruntime session's time goes: the per-node events of its profiler trace (session option
// enableProfiling), with each node's FLOPs counted from the shapes the trace records, summed per op type.
// FLOPs: 2 x multiply-adds for the dense ops (Conv, Gemm, MatMul, Einsum); one per output element for arithmetic
// ops (elementwise, activations, norms, softmax); none for ops that only move or reshape data.

/** One node's kernel run in a trace: its name in the (optimised) graph, op type, microseconds and shapes. */
export interface TraceNode {
  readonly name: string;
  readonly opType: string;
  readonly micros: number;
  /** Start, microseconds from the session's creation. */
  readonly start: number;
  readonly inputShapes: readonly (readonly number[])[];
  readonly outputShapes: readonly (readonly number[])[];
}

/** The trace's runs (Session `model_run` events): start and duration in microseconds. */
export interface TraceRun {
  readonly start: number;
  readonly micros: number;
}

interface TraceEvent {
  readonly cat?: unknown;
  readonly name?: unknown;
  readonly dur?: unknown;
  readonly ts?: unknown;
  readonly args?: { readonly op_name?: unknown; readonly input_type_shape?: unknown; readonly output_type_shape?: unknown };
}

const KERNEL_SUFFIX = '_kernel_time';

// The trace writes a shape as [{ "float": [100, 32, 28, 28] }].
const shapesOf = (list: unknown): number[][] =>
  Array.isArray(list) ? list.map((entry) => (Object.values(entry as Record<string, unknown>)[0] as number[] | undefined) ?? []) : [];

/** The per-node kernel events and the runs of a parsed profiler trace (the JSON array onnxruntime writes). */
export function parseTrace(events: readonly unknown[]): { nodes: TraceNode[]; runs: TraceRun[] } {
  const nodes: TraceNode[] = [];
  const runs: TraceRun[] = [];
  for (const raw of events as readonly TraceEvent[]) {
    if (raw.cat === 'Session' && raw.name === 'model_run') runs.push({ start: Number(raw.ts), micros: Number(raw.dur) });
    if (raw.cat !== 'Node' || typeof raw.name !== 'string' || !raw.name.endsWith(KERNEL_SUFFIX)) continue;
    nodes.push({
      name: raw.name.slice(0, -KERNEL_SUFFIX.length),
      opType: String(raw.args?.op_name),
      micros: Number(raw.dur),
      start: Number(raw.ts),
      inputShapes: shapesOf(raw.args?.input_type_shape),
      outputShapes: shapesOf(raw.args?.output_type_shape),
    });
  }
  return { nodes, runs };
}

const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

const MOVES_DATA = new Set([
  'Reshape', 'Shape', 'Unsqueeze', 'Squeeze', 'Gather', 'Slice', 'Concat', 'Transpose', 'Cast', 'Expand', 'Identity',
  'ReorderInput', 'ReorderOutput', 'Resize', 'Upsample', 'Split', 'Flatten', 'ConstantOfShape', 'Range',
]);

/** Attributes a FLOP count needs: Conv's kernel_shape, group and channels_last, Gemm's transA, Einsum's equation. */
export type NodeAttributes = ReadonlyMap<string, unknown>;

/**
 * FLOPs of one node from its shapes (and, for Conv/Gemm/Einsum, attributes of the graph node; onnxruntime's
 * trace leaves out initializer inputs such as Gemm's weight). Shapes are the logical ones (NCHW) even where the
 * kernel runs blocked (NCHWc). Throws for a dense op whose shapes it cannot read: a programmer error.
 */
export function nodeFlops(node: Pick<TraceNode, 'opType' | 'inputShapes' | 'outputShapes' | 'name'>, attrs: NodeAttributes = new Map()): number {
  const out = node.outputShapes[0] ?? [];
  const a = node.inputShapes[0] ?? [];
  switch (node.opType) {
    case 'Conv':
    case 'FusedConv':
    case 'ConvInteger':
    case 'QLinearConv': {
      // Each output element takes (input channels / group) x kernel multiply-adds.
      const kernel = (attrs.get('kernel_shape') as number[] | undefined) ?? weightKernel(node);
      const group = Number(attrs.get('group') ?? 1);
      // onnxruntime's NHWC kernels (its QLinearConv after the layout transform) say so with channels_last.
      const channels = Number(attrs.get('channels_last') ?? 0) === 1 ? a.at(-1) : a[1];
      if (kernel === undefined || channels === undefined) throw new Error(`nodeFlops: cannot read the kernel or channels of ${node.opType} ${node.name}`);
      return 2 * product(out) * (channels / group) * product(kernel);
    }
    case 'Gemm': {
      const transA = Number(attrs.get('transA') ?? 0) === 1;
      const k = transA ? a[0] : a[1];
      if (k === undefined) throw new Error(`nodeFlops: cannot read Gemm ${node.name}'s inner dimension`);
      return 2 * product(out) * k;
    }
    case 'MatMul':
    case 'MatMulInteger':
    case 'FusedMatMul': {
      const k = a.at(-1);
      if (k === undefined) throw new Error(`nodeFlops: cannot read MatMul ${node.name}'s inner dimension`);
      return 2 * product(out) * k;
    }
    case 'Einsum':
      return 2 * einsumMultiplyAdds(String(attrs.get('equation') ?? ''), node.inputShapes, node.name);
    default:
      return MOVES_DATA.has(node.opType) ? 0 : product(out);
  }
}

// Conv's weight shape [out, in/group, ...kernel] when the trace lists it and the attributes are not at hand.
function weightKernel(node: Pick<TraceNode, 'inputShapes'>): number[] | undefined {
  const w = node.inputShapes[1];
  return w !== undefined && w.length > 2 ? w.slice(2) : undefined;
}

/** Multiply-adds of an explicit einsum: the product of every distinct label's size. */
export function einsumMultiplyAdds(equation: string, inputShapes: readonly (readonly number[])[], name = 'Einsum'): number {
  const [lhs] = equation.replace(/\s/g, '').split('->');
  const terms = lhs === undefined || lhs === '' ? [] : lhs.split(',');
  if (terms.length !== inputShapes.length || terms.some((t) => t.includes('.'))) {
    throw new Error(`nodeFlops: einsum ${name} needs its explicit equation (got '${equation}') for ${inputShapes.length} inputs`);
  }
  const sizes = new Map<string, number>();
  terms.forEach((term, i) => [...term].forEach((label, axis) => sizes.set(label, inputShapes[i]?.[axis] ?? 1)));
  return product([...sizes.values()]);
}

/** One op type's share of a profile. */
export interface OpTypeRow {
  readonly opType: string;
  readonly nodes: number;
  /** Kernel microseconds per run. */
  readonly micros: number;
  /** FLOPs per run. */
  readonly flops: number;
}

/**
 * Per op type, kernel time and FLOPs per run, over the nodes that ran inside `runs` (e.g. every run but the
 * first, which pays one-time allocations), sorted by time. `attrsOf` gives a node's graph attributes by name.
 */
export function byOpType(nodes: readonly TraceNode[], runs: readonly TraceRun[], attrsOf: (name: string) => NodeAttributes | undefined = () => undefined): OpTypeRow[] {
  const rows = new Map<string, { opType: string; nodes: number; micros: number; flops: number }>();
  const inside = (n: TraceNode) => runs.some((r) => n.start >= r.start && n.start < r.start + r.micros);
  for (const n of nodes.filter(inside)) {
    const row = rows.get(n.opType) ?? { opType: n.opType, nodes: 0, micros: 0, flops: 0 };
    row.nodes += 1;
    row.micros += n.micros;
    row.flops += nodeFlops(n, attrsOf(n.name));
    rows.set(n.opType, row);
  }
  const perRun = Math.max(1, runs.length);
  return [...rows.values()]
    .map((r) => ({ opType: r.opType, nodes: r.nodes / perRun, micros: r.micros / perRun, flops: r.flops / perRun }))
    .sort((x, y) => y.micros - x.micros);
}
