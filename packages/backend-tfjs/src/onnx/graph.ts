// An ONNX graph compiled to tfjs: the ops are checked when the model loads, constant subgraphs are folded
// once, weights are laid out for tfjs once; a run walks the remaining nodes in order and frees every
// intermediate tensor right after its last use.
import { either as E } from 'fp-ts';
import { type BackendError, type ModelManifest, checkSignature } from '@densepure/backend';
import { type CompileContext, type Kernel, type OpCompiler, type OpOptions, type RunContext, compilerFor, fuseTorchGroupNorm, resolveOp } from './ops.js';
import type { GraphIR, NodeIR } from './proto.js';
import { type HostValue, type Tensor, type Tf, type Value, hostToTensor, shapeOf } from './values.js';

/** Every node whose op this backend cannot run, as one readable line each. */
export function unsupportedNodes(graph: GraphIR): string[] {
  return graph.nodes
    .filter((n) => (n.domain !== '' && n.domain !== 'ai.onnx') || resolveOp(n.op, graph.opset) === undefined)
    .map((n) => `op '${n.domain !== '' && n.domain !== 'ai.onnx' ? `${n.domain}.` : ''}${n.op}' (node '${n.name}', opset ${graph.opset})`);
}

/** Checks the graph's declared inputs and outputs (names, dtypes, fixed dims) against the manifest. */
export function checkGraph(graph: GraphIR, manifest: ModelManifest, path: string): E.Either<BackendError, void> {
  const inputs = checkSignature(path, 'input', manifest.inputs, graph.inputs);
  if (E.isLeft(inputs)) return inputs;
  return checkSignature(path, 'output', manifest.outputs, graph.outputs);
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
export function compileGraph(tf: Tf, graph: GraphIR, feedNames: readonly string[], options: OpOptions = {}): CompiledGraph {
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
        options,
        staticInput: (i) => {
          const name = node.inputs[i];
          return name === undefined || name === '' ? undefined : statics.get(name);
        },
        keep: keepForever,
      };
      const compiler: OpCompiler | undefined = compilerFor(node, graph.opset);
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
