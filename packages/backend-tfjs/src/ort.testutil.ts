// Test helpers: run the same ONNX bytes through onnxruntime-node and through this backend's op mapper.
import ort from 'onnxruntime-node';
import { either as E } from 'fp-ts';
import { compileGraph, unsupportedNodes } from './onnx/graph.js';
import type { OpOptions } from './onnx/ops.js';
import { parseOnnx } from './onnx/proto.js';
import { type Value, wrap } from './onnx/values.js';
import { chooseRuntime } from './runtime.js';

export interface Feed {
  readonly name: string;
  readonly type: 'float32' | 'int64';
  readonly shape: readonly number[];
  readonly data: readonly number[] | Float32Array;
}

export async function runOrt(bytes: Uint8Array, feeds: readonly Feed[], outputs: readonly string[]): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const input: Record<string, ort.Tensor> = {};
    for (const f of feeds) {
      input[f.name] =
        f.type === 'float32'
          ? new ort.Tensor('float32', Float32Array.from(f.data), [...f.shape])
          : new ort.Tensor('int64', BigInt64Array.from(Array.from(f.data, (v) => BigInt(v))), [...f.shape]);
    }
    const res = await session.run(input);
    // Number(): int64 outputs come back as BigInt64Array, bool ones as Uint8Array.
    return outputs.map((o) => Float32Array.from(res[o]!.data as ArrayLike<number | bigint>, Number));
  } finally {
    await session.release();
  }
}

export async function runTfjs(
  bytes: Uint8Array,
  feeds: readonly Feed[],
  outputs: readonly string[],
  device: string = 'wasm',
  options: OpOptions = {},
): Promise<Float32Array[]> {
  const choice = await chooseRuntime(device);
  if (E.isLeft(choice)) throw new Error(choice.left.message);
  const tf = choice.right.runtime.tf;
  await tf.setBackend(choice.right.runtime.backend);
  const graph = parseOnnx(bytes);
  const bad = unsupportedNodes(graph);
  if (bad.length > 0) throw new Error(`unsupported: ${bad.join('; ')}`);
  const compiled = compileGraph(tf, graph, feeds.map((f) => f.name), options);
  const values = new Map<string, Value>(
    feeds.map((f) => [f.name, wrap(tf.tensor(Array.from(f.data), [...f.shape], f.type === 'float32' ? 'float32' : 'int32'), f.type)]),
  );
  try {
    const outs = compiled.run(values, outputs);
    // Asynchronous reads: the webgpu backend cannot read GPU memory synchronously under node.
    const data = await Promise.all(outs.map(async (t) => Float32Array.from((await t.data()) as ArrayLike<number>)));
    outs.forEach((t) => t.dispose());
    return data;
  } finally {
    for (const v of values.values()) if (v.kind === 'tensor') v.tensor.dispose();
    compiled.dispose();
  }
}

export { maxAbsDiff, seeded } from '@densepure/backend/testing';
