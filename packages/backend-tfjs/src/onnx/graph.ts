// An ONNX graph compiled to tfjs: the ops are checked when the model loads, constant subgraphs are folded
// once, weights are laid out for tfjs once; a run walks the remaining nodes in order and frees every
// intermediate tensor right after its last use.
import { either as E } from 'fp-ts';
import { type BackendError, type ModelManifest, checkSignature } from '@densepure/backend';
import { type CompileContext, type Kernel, OPS, type OpCompiler, type RunContext, torchGroupNorm } from './ops.js';
import type { GraphIR, NodeIR } from './proto.js';
import { type HostValue, type Tensor, type Tf, type Value, hostToTensor, shapeOf } from './values.js';

/** Every node whose op this backend cannot run, as one readable line each. */
export function unsupportedNodes(graph: GraphIR): string[] {
  return graph.nodes
    .filter((n) => (n.domain !== '' && n.domain !== 'ai.onnx') || OPS[n.op] === undefined)
    .map((n) => `op '${n.domain !== '' && n.domain !== 'ai.onnx' ? `${n.domain}.` : ''}${n.op}' (node '${n.name}', opset ${graph.opset})`);
}

/** Checks the graph's declared inputs and outputs (names, dtypes, fixed dims) against the manifest. */
export function checkGraph(graph: GraphIR, manifest: ModelManifest, path: string): E.Either<BackendError, void> {
  const inputs = checkSignature(path, 'input', manifest.inputs, graph.inputs);
  if (E.isLeft(inputs)) return inputs;
  return checkSignature(path, 'output', manifest.outputs, graph.outputs);
}

const TORCH_GROUP_NORM = '_TorchGroupNorm';

/**
 * Finds torch's GroupNorm export — Reshape(x, const [0, G, -1]) -> InstanceNormalization(scale all 1, bias
 * all 0) -> Reshape(.., Shape(x)) with no other readers of the intermediates — and replaces each chain with one
 * '_TorchGroupNorm' node (which keeps channels-last values channels-last). Everything else is left as is.
 */
function fuseTorchGroupNorm(graph: GraphIR): NodeIR[] {
  const readers = new Map<string, number>();
  for (const n of graph.nodes) for (const i of n.inputs) readers.set(i, (readers.get(i) ?? 0) + 1);
  for (const o of graph.outputs) readers.set(o.name, (readers.get(o.name) ?? 0) + 1);
  const producer = new Map<string, NodeIR>();
  for (const n of graph.nodes) for (const o of n.outputs) producer.set(o, n);
  const constValue = (name: string | undefined): HostValue | null => {
    if (name === undefined) return null;
    const init = graph.initializers.get(name);
    if (init !== undefined) return init;
    const p = producer.get(name);
    const v = p?.op === 'Constant' ? p.attrs.get('value') : undefined;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : null;
  };
  const constOf = (name: string | undefined): readonly number[] | null => {
    const v = constValue(name);
    return v === null ? null : Array.from(v.data);
  };
  /** A per-channel constant [C,1,1] (torch's GroupNorm weight and bias after the normalisation). */
  const perChannel = (name: string | undefined): boolean => {
    const v = constValue(name);
    return v !== null && v.dtype === 'float32' && v.shape.length === 3 && v.shape[1] === 1 && v.shape[2] === 1;
  };
  const consumer = (name: string): NodeIR | undefined => (readers.get(name) === 1 ? graph.nodes.find((n) => n.inputs.includes(name)) : undefined);
  const replaced = new Map<NodeIR, NodeIR | null>();
  for (const r1 of graph.nodes) {
    if (r1.op !== 'Reshape' || replaced.has(r1)) continue;
    const target = constOf(r1.inputs[1]);
    if (target === null || target.length !== 3 || target[0] !== 0 || target[2] !== -1 || !((target[1] as number) > 0)) continue;
    const inorm = consumer(r1.outputs[0] ?? '');
    if (inorm?.op !== 'InstanceNormalization' || inorm.inputs[0] !== r1.outputs[0]) continue;
    const scale = constOf(inorm.inputs[1]);
    const bias = constOf(inorm.inputs[2]);
    if (scale === null || bias === null || scale.some((v) => v !== 1) || bias.some((v) => v !== 0)) continue;
    const r2 = consumer(inorm.outputs[0] ?? '');
    if (r2?.op !== 'Reshape' || r2.inputs[0] !== inorm.outputs[0]) continue;
    const shapeNode = producer.get(r2.inputs[1] ?? '');
    if (shapeNode?.op !== 'Shape' || shapeNode.inputs[0] !== r1.inputs[0] || shapeNode.attrs.size > 0) continue;
    const eps = inorm.attrs.get('epsilon');
    // The affine part that follows (Mul by weight[C,1,1], Add bias[C,1,1]) is folded in when present.
    const mul = consumer(r2.outputs[0] ?? '');
    const gamma = mul?.op === 'Mul' ? mul.inputs.find((i) => i !== r2.outputs[0]) : undefined;
    const add = mul !== undefined && gamma !== undefined && perChannel(gamma) ? consumer(mul.outputs[0] ?? '') : undefined;
    const beta = add?.op === 'Add' ? add.inputs.find((i) => i !== mul?.outputs[0]) : undefined;
    const affine = mul !== undefined && add !== undefined && gamma !== undefined && beta !== undefined && perChannel(beta);
    const last = affine ? (add as NodeIR) : r2;
    replaced.set(r1, {
      op: TORCH_GROUP_NORM,
      domain: '',
      name: `${r1.name}+${inorm.name}+${r2.name}${affine ? `+${(mul as NodeIR).name}+${(add as NodeIR).name}` : ''}`,
      inputs: affine ? [r1.inputs[0] as string, gamma as string, beta as string] : [r1.inputs[0] as string],
      outputs: [...last.outputs],
      attrs: new Map([
        ['num_groups', target[1] as number],
        ['epsilon', typeof eps === 'number' ? eps : 1e-5],
      ]),
    });
    replaced.set(inorm, null);
    replaced.set(r2, null);
    if (affine) {
      replaced.set(mul as NodeIR, null);
      replaced.set(add as NodeIR, null);
    }
  }
  // The fused node stands where the last Reshape stood, so everything it reads is computed before it.
  const out: NodeIR[] = [];
  const pendingAt = new Map<NodeIR, NodeIR>();
  for (const [first, fused] of replaced) {
    if (fused === null || first.op !== 'Reshape') continue;
    const last = graph.nodes.find((n) => n.outputs[0] === fused.outputs[0]);
    if (last !== undefined) pendingAt.set(last, fused);
  }
  for (const n of graph.nodes) {
    const fused = pendingAt.get(n);
    if (fused !== undefined) out.push(fused);
    else if (!replaced.has(n)) out.push(n);
  }
  return out;
}

interface Step {
  readonly node: NodeIR;
  readonly kernel: Kernel;
  /** Values whose last reader is this step: freed right after it runs. */
  readonly frees: readonly string[];
}

export interface CompiledGraph {
  readonly opsUsed: readonly string[];
  /** Number of nodes folded into constants at load time. */
  readonly folded: number;
  /** Runs the graph; `profile`, when given, accumulates milliseconds per op type (synchronous backends). */
  run(feeds: ReadonlyMap<string, Value>, outputs: readonly string[], profile?: Map<string, number>): Tensor[];
  dispose(): void;
}

const tensorsOf = (values: readonly Value[]): Tensor[] => values.flatMap((v) => (v.kind === 'tensor' ? [v.tensor] : []));

/**
 * Compiles a parsed graph for tfjs (the caller has checked that every op is supported). Throws with the
 * failing node's name when an op refuses its attributes or a constant cannot be folded.
 */
export function compileGraph(tf: Tf, graph: GraphIR, feedNames: readonly string[]): CompiledGraph {
  // Tensors that live as long as the compiled graph (uploaded constants, laid-out weights, folded values).
  const kept: Tensor[] = [];
  const keptSet = new Set<Tensor>();
  const keepForever = (t: Tensor): Tensor => {
    kept.push(t);
    keptSet.add(t);
    return t;
  };
  const statics = new Map<string, Value>(graph.initializers);
  const staticValues = new Set<Value>();
  const uploaded = new Map<HostValue, Tensor>();
  const staticHosts = new Set<HostValue>(graph.initializers.values());

  const tensorFor = (v: Value): Tensor => {
    if (v.kind === 'tensor') return v.tensor;
    if (staticHosts.has(v)) {
      let t = uploaded.get(v);
      if (t === undefined) {
        t = keepForever(tf.keep(hostToTensor(tf, v)));
        uploaded.set(v, t);
      }
      return t;
    }
    return hostToTensor(tf, v);
  };
  // Channels-last copies of static values (a [C,1,1] bias, a folded tensor), made once.
  const staticNHWC = new Map<Value, Tensor>();
  const logical = (v: Value): Tensor => (v.kind === 'tensor' && v.nhwc === true ? tf.transpose(v.tensor, [0, 3, 1, 2]) : tensorFor(v));
  const channelsLast = (v: Value): Tensor => {
    if (v.kind === 'tensor' && v.nhwc === true) return v.tensor;
    const isStatic = (v.kind === 'host' && staticHosts.has(v)) || staticValues.has(v);
    const cached = isStatic ? staticNHWC.get(v) : undefined;
    if (cached !== undefined) return cached;
    const t = logical(v);
    const shape = shapeOf(v);
    if (shape.length > 4) throw new Error(`internal: rank ${shape.length} value used channels-last`);
    const t4 = shape.length === 4 ? t : tf.reshape(t, [...new Array<number>(4 - shape.length).fill(1), ...shape]);
    const result = tf.transpose(t4, [0, 2, 3, 1]);
    if (isStatic) {
      keepForever(tf.keep(result));
      staticNHWC.set(v, result);
    }
    return result;
  };
  const runCtx: RunContext = { tf, tensor: logical, nhwc: channelsLast };

  const execute = (node: NodeIR, kernel: Kernel, inputs: readonly (Value | undefined)[]): Value[] => {
    tf.engine().startScope();
    let outs: Value[] = [];
    try {
      outs = kernel(inputs, runCtx);
      // An output that is one of the inputs (Identity, a no-op Reshape) gets its own handle, so freeing the
      // input after its last use cannot free the output too.
      const isInput = (t: Tensor): boolean => keptSet.has(t) || inputs.some((v) => v?.kind === 'tensor' && v.tensor === t);
      outs = outs.map((v) => (v.kind === 'tensor' && isInput(v.tensor) ? { ...v, tensor: tf.clone(v.tensor) } : v));
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new Error(`${node.op} node '${node.name}' failed: ${reason}`);
    } finally {
      tf.engine().endScope(tensorsOf(outs));
    }
    return outs;
  };

  const steps: { node: NodeIR; kernel: Kernel }[] = [];
  let folded = 0;
  try {
    for (const node of fuseTorchGroupNorm(graph)) {
      const compileCtx: CompileContext = {
        ...runCtx,
        opset: graph.opset,
        staticInput: (i) => {
          const name = node.inputs[i];
          return name === undefined || name === '' ? undefined : statics.get(name);
        },
        keep: keepForever,
      };
      const compiler: OpCompiler | undefined = node.op === TORCH_GROUP_NORM ? torchGroupNorm : OPS[node.op];
      if (compiler === undefined) throw new Error(`op '${node.op}' (node '${node.name}', opset ${graph.opset}) is not supported`);
      let kernel: Kernel;
      try {
        kernel = compiler(node, compileCtx);
      } catch (cause) {
        throw new Error(`${node.op} node '${node.name}' (opset ${graph.opset}): ${cause instanceof Error ? cause.message : String(cause)}`);
      }
      const allStatic = node.inputs.every((n) => n === '' || statics.has(n));
      if ((allStatic && node.inputs.some((n) => n !== '')) || node.op === 'Constant') {
        // Fold: run once now; the results become constants of the compiled graph.
        const outs = execute(node, kernel, node.inputs.map((n) => (n === '' ? undefined : statics.get(n))));
        node.outputs.forEach((name, i) => {
          const v = outs[i];
          if (name === '' || v === undefined) return;
          if (v.kind === 'tensor') keepForever(tf.keep(v.tensor));
          else staticHosts.add(v);
          staticValues.add(v);
          statics.set(name, v);
        });
        folded++;
        continue;
      }
      steps.push({ node, kernel });
    }
  } catch (cause) {
    for (const t of kept) t.dispose();
    throw cause;
  }

  // Last reader of every runtime value, so it can be freed as soon as possible.
  const lastUse = new Map<string, number>();
  steps.forEach((s, i) => s.node.inputs.forEach((n) => n !== '' && !statics.has(n) && lastUse.set(n, i)));
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));
  const plan: Step[] = steps.map((s, i) => ({
    ...s,
    frees: [...new Set(s.node.inputs)].filter((n) => lastUse.get(n) === i && !graphOutputs.has(n) && !feedNames.includes(n)),
  }));
  const opsUsed = [...new Set(graph.nodes.map((n) => n.op))].sort();

  return {
    opsUsed,
    folded,
    run: (feeds, outputs, profile) => {
      const live = new Map<string, Value>();
      const get = (name: string): Value | undefined => (name === '' ? undefined : (live.get(name) ?? feeds.get(name) ?? statics.get(name)));
      const free = (v: Value | undefined): void => {
        if (v?.kind === 'tensor') v.tensor.dispose();
      };
      try {
        for (const step of plan) {
          const t0 = profile === undefined ? 0 : performance.now();
          const outs = execute(step.node, step.kernel, step.node.inputs.map(get));
          if (profile !== undefined) profile.set(step.node.op, (profile.get(step.node.op) ?? 0) + performance.now() - t0);
          step.node.outputs.forEach((name, i) => {
            if (name !== '' && outs[i] !== undefined) live.set(name, outs[i] as Value);
            else free(outs[i]);
          });
          for (const name of step.frees) {
            free(live.get(name));
            live.delete(name);
          }
        }
        return outputs.map((name) => {
          const v = get(name);
          if (v === undefined) throw new Error(`the graph computed no value '${name}'`);
          // The caller owns what it gets: a fresh tensor, never a constant or a live value that is freed below.
          return v.kind === 'host' ? hostToTensor(tf, v) : v.nhwc === true ? tf.transpose(v.tensor, [0, 3, 1, 2]) : tf.clone(v.tensor);
        });
      } finally {
        for (const v of live.values()) free(v);
      }
    },
    dispose: () => {
      for (const t of kept) t.dispose();
      kept.length = 0;
      keptSet.clear();
    },
  };
}
