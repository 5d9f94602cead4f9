// Op test cases: tiny ONNX graphs built in code, run through onnxruntime-node and through the tfjs op mapper
// on the same seeded inputs; outputs must agree to 1e-4 on wasm and on the pure-JS cpu backend. Each family's
// cases live in `<family>.cases.testutil.ts` (run by `<family>.test.ts`); src/ops.test.ts checks that together
// they use every op in the table.
import { type InitializerSpec, type NodeSpec, type ValueSpec, buildOnnxModel } from '@densepure/backend/testing';
import { describe, expect, it } from 'vitest';
import { type Feed, maxAbsDiff, runOrt, runTfjs, seeded } from '../../ort.testutil.js';

export interface OpCase {
  readonly name: string;
  readonly inputs: readonly (ValueSpec & { readonly lo?: number; readonly hi?: number })[];
  /** Default: one float32 output 'y'. */
  readonly outputs?: readonly ValueSpec[];
  readonly nodes: readonly NodeSpec[];
  readonly initializers?: readonly InitializerSpec[];
  readonly floatAttrs?: readonly string[];
  readonly opset?: number;
}

/** A float32 initializer of seeded values in [lo, hi). */
export const f = (name: string, dims: number[], seed: number, lo = -1, hi = 1): InitializerSpec => ({
  name,
  type: 'float32',
  dims,
  values: Array.from(seeded(dims.reduce((a, b) => a * b, 1), seed, lo, hi)),
});
export const i64 = (name: string, values: number[], dims = [values.length]): InitializerSpec => ({ name, type: 'int64', dims, values });
export const x = (shape: (number | string)[], name = 'x', range: { lo?: number; hi?: number } = {}): OpCase['inputs'][number] => ({ name, type: 'float32', shape, ...range });
const y: ValueSpec = { name: 'y', type: 'float32', shape: [] };
/** A one-node graph x [, more inputs] -> y. */
export const one = (op: string, attrs: NodeSpec['attrs'] = {}, inputs = ['x'], extra: Partial<OpCase> = {}): Omit<OpCase, 'name' | 'inputs'> => ({
  nodes: [{ op, inputs, outputs: ['y'], attrs }],
  ...extra,
});
// INT64_MAX itself does not survive a JS number (it rounds up and wraps when encoded); 2^62 is just as 'past the end'.
export const BIG = 2 ** 62;

/** The op types a list of cases runs (what the coverage test counts). */
export const opsIn = (cases: readonly OpCase[]): Set<string> => new Set(cases.flatMap((c) => c.nodes.map((n) => n.op)));

export const outputsOf = (c: OpCase): readonly ValueSpec[] => c.outputs ?? [y];

export const feedsFor = (c: OpCase, batch: number): Feed[] =>
  c.inputs.map((v, k) => {
    const shape = v.shape.map((d) => (typeof d === 'string' ? batch : d));
    return { name: v.name, type: 'float32', shape, data: seeded(shape.reduce((a, b) => a * b, 1), 100 + k, v.lo ?? -1, v.hi ?? 1) };
  });

export const bytesFor = (c: OpCase): Uint8Array =>
  buildOnnxModel({
    name: c.name,
    inputs: c.inputs.map((v) => ({ name: v.name, type: v.type, shape: v.shape })),
    outputs: outputsOf(c),
    nodes: c.nodes,
    initializers: c.initializers ?? [],
    ...(c.opset === undefined ? {} : { opset: c.opset }),
    ...(c.floatAttrs === undefined ? {} : { floatAttrs: c.floatAttrs }),
  });

/** One test per case: every output agrees with onnxruntime-node on each device (wasm and cpu by default). */
export function describeOrtCases(title: string, cases: readonly OpCase[], devices: readonly string[] = ['wasm', 'cpu']): void {
  describe(title, () => {
    for (const c of cases) {
      it(c.name, async () => {
        const bytes = bytesFor(c);
        const feeds = feedsFor(c, 2);
        const names = outputsOf(c).map((o) => o.name);
        const expected = await runOrt(bytes, feeds, names);
        for (const device of devices) {
          const actual = await runTfjs(bytes, feeds, names, device);
          names.forEach((name, k) => {
            expect(actual[k]!.length, `${device} ${name}: output size`).toBe(expected[k]!.length);
            expect(maxAbsDiff(actual[k]!, expected[k]!), `${device} ${name}`).toBeLessThanOrEqual(1e-4);
          });
        }
      });
    }
  });
}
