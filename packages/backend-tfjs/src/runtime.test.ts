// Runtime choice (best first, forced by `device`), what probe and metadata.runtime say, and load-time refusals.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import { type BackendError, getBackend, loadClassifier, loadDenoiser } from '@densepure/backend';
import { buildOnnxModel, tinyClassifierManifest, writeTinyModels, type TinyModelPaths } from '@densepure/backend/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseRuntime, tfjsBackend } from './index.js';

const left = <A>(r: E.Either<BackendError, A>): BackendError => {
  if (E.isRight(r)) throw new Error('expected an error, the call succeeded');
  return r.left;
};

let dir = '';
let tiny: TinyModelPaths;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'densepure-tfjs-rt-'));
  tiny = await writeTinyModels(join(dir, 'tiny'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Writes a classifier-shaped ONNX model and a manifest (optionally edited) and returns the manifest path. */
async function classifierWith(stem: string, bytes: Uint8Array, edit: (m: Record<string, unknown>) => Record<string, unknown> = (m) => m): Promise<string> {
  await writeFile(join(dir, `${stem}.onnx`), bytes);
  await writeFile(join(dir, `${stem}.json`), JSON.stringify(edit(tinyClassifierManifest(`${stem}.onnx`, bytes))));
  return join(dir, `${stem}.json`);
}

const classifierGraph = (extra: { op: string; domain?: string } | null) =>
  buildOnnxModel({
    name: 'c',
    inputs: [{ name: 'x', type: 'float32', shape: ['B', 1, 4, 4] }],
    outputs: [{ name: 'logits', type: 'float32', shape: ['B', 3] }],
    initializers: [
      { name: 'W', type: 'float32', dims: [16, 3], values: Array.from({ length: 48 }, (_, i) => i / 48) },
      { name: 'b', type: 'float32', dims: [3], values: [0, 0, 0] },
    ],
    nodes: [
      { op: 'Flatten', inputs: ['x'], outputs: ['flat'], attrs: { axis: 1 } },
      { op: 'Gemm', inputs: ['flat', 'W', 'b'], outputs: [extra === null ? 'logits' : 'g'] },
      ...(extra === null ? [] : [{ op: extra.op, inputs: ['g'], outputs: ['logits'], name: 'head/odd_op' }]),
    ],
  });

describe('registration', () => {
  it("registers 'tfjs' at priority 50 for onnx and tfjs formats", () => {
    expect(getBackend('tfjs')).toBe(tfjsBackend);
    expect(tfjsBackend.priority).toBe(50);
    expect([...tfjsBackend.formats].sort()).toEqual(['onnx', 'tfjs-graph', 'tfjs-layers']);
  });
});

describe('runtime choice', () => {
  it('device messages name no CLI flags', async () => {
    const unknown = await chooseRuntime('tpu');
    expect(E.isLeft(unknown) && unknown.left.message).toContain("device 'tpu'");
    expect(E.isLeft(unknown) && unknown.left.message).not.toMatch(/--[a-z]/);
    const missing = await chooseRuntime('tfjs-node-gpu');
    if (E.isLeft(missing)) expect(missing.left.message).not.toMatch(/--[a-z]/);
  });

  it('probe names the runtime it picks and why the better ones were not used', async () => {
    const p = await tfjsBackend.probe();
    expect(p.available).toBe(true);
    expect(p.devices).toContain('wasm');
    expect(p.devices).toContain('cpu');
    // Here the native runtimes are not installed: the notes must say so.
    if (!p.devices.includes('tfjs-node-gpu')) expect(p.notes.join('\n')).toMatch(/tfjs-node-gpu: not installed/);
    if (!p.devices.includes('tfjs-node')) expect(p.notes.join('\n')).toMatch(/tfjs-node: not installed/);
    if (p.devices[0] === 'wasm') expect(p.runtime).toMatch(/^tfjs 4\.\d+\.\d+ \(wasm, (no )?simd, \d+ threads?\)$/);
  });

  it('metadata.runtime carries the pick and the skipped runtimes', async () => {
    const d = await loadDenoiser(tiny.denoiser, { backend: 'tfjs' })();
    if (E.isLeft(d)) throw new Error(d.left.message);
    const probe = await tfjsBackend.probe();
    expect(d.right.metadata.runtime.startsWith(probe.runtime)).toBe(true);
    for (const note of probe.notes.filter((n) => n.startsWith('tfjs-node'))) expect(d.right.metadata.runtime).toContain(note);
    await d.right.dispose();
  });

  it("device 'cpu' forces the pure-JS backend, and says nothing was skipped", async () => {
    const d = await loadDenoiser(tiny.denoiser, { backend: 'tfjs', device: 'cpu' })();
    if (E.isLeft(d)) throw new Error(d.left.message);
    expect(d.right.metadata.runtime).toMatch(/^tfjs \S+ \(cpu, pure JS\)$/);
    const out = await d.right.run(new Float32Array(16).fill(0.5), [500])();
    expect(E.isRight(out) && out.right.v![0]).toBeCloseTo(0.5, 6);
    await d.right.dispose();
  });

  it('options the backend cannot honour are reported, not silently dropped', async () => {
    const d = await loadDenoiser(tiny.denoiser, { backend: 'tfjs', device: 'wasm', workers: 2 })();
    if (E.isLeft(d)) throw new Error(d.left.message);
    expect(d.right.metadata.runtime).toContain('workers=2 ignored');
    await d.right.dispose();
  });

  it('an unknown device is a backend-unavailable error listing the valid ones', async () => {
    const err = left(await loadDenoiser(tiny.denoiser, { backend: 'tfjs', device: 'tpu' })());
    expect(err.kind).toBe('backend-unavailable');
    expect(err.message).toContain('tfjs-node-gpu');
  });

  it('forcing a native runtime that is not installed is an error that says why', async () => {
    const probe = await tfjsBackend.probe();
    for (const device of ['tfjs-node', 'tfjs-node-gpu'] as const) {
      if (probe.devices.includes(device)) continue;
      const err = left(await loadDenoiser(tiny.denoiser, { backend: 'tfjs', device })());
      expect(err.kind).toBe('backend-unavailable');
      expect(err.message).toContain(`${device}: not installed`);
    }
  });
});

describe('load-time checks', () => {
  it('an unsupported op is refused at load, naming the op, the node and the opset', async () => {
    const path = await classifierWith('hardmax', classifierGraph({ op: 'Hardmax' }));
    const err = left(await loadClassifier(path, { backend: 'tfjs' })());
    expect(err.kind).toBe('model-contract');
    expect(err.message).toContain("op 'Hardmax'");
    expect(err.message).toContain("node 'head/odd_op'");
    expect(err.message).toContain('opset 17');
  });

  it('a graph input the manifest does not know is a model-contract error naming the tensor', async () => {
    const path = await classifierWith('renamed', classifierGraph(null), (m) => ({ ...m, inputs: [{ name: 'image', dtype: 'float32', shape: ['B', 1, 4, 4] }] }));
    const err = left(await loadClassifier(path, { backend: 'tfjs' })());
    expect(err.kind).toBe('model-contract');
    expect(err.message).toContain("'image'");
  });

  it('a dtype or fixed-dim mismatch is a model-contract error', async () => {
    const dtype = await classifierWith('dtype', classifierGraph(null), (m) => ({ ...m, inputs: [{ name: 'x', dtype: 'int64', shape: ['B', 1, 4, 4] }] }));
    expect(left(await loadClassifier(dtype, { backend: 'tfjs' })()).message).toMatch(/'x' has dtype float32/);
    // A self-consistent manifest (4 classes) for a graph with 3: the graph check, not the manifest check, refuses it.
    const dims = await classifierWith('dims', classifierGraph(null), (m) => ({ ...m, numClasses: 4, classNames: undefined, outputs: [{ name: 'logits', dtype: 'float32', shape: ['B', 4] }] }));
    const err = left(await loadClassifier(dims, { backend: 'tfjs' })());
    expect(err.kind).toBe('model-contract');
    expect(err.message).toContain("'logits'");
  });

  it('a working graph loads and runs', async () => {
    const path = await classifierWith('ok', classifierGraph(null));
    const c = await loadClassifier(path, { backend: 'tfjs' })();
    if (E.isLeft(c)) throw new Error(c.left.message);
    const out = await c.right.run(new Float32Array(32).fill(1), 2)();
    expect(E.isRight(out) && out.right.length).toBe(6);
    await c.right.dispose();
  });
});
