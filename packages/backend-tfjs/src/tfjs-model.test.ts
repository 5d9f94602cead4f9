// Native tfjs models from disk through the fs IO handler: a LayersModel saved in code, and a hand-written
// GraphModel (model.json + weights.bin) that computes the tiny denoiser of the conformance suite.
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import { type BackendError, loadClassifier, loadDenoiser, sha256Hex } from '@densepure/backend';
import { tinyClassifierManifest, tinyDenoiserManifest } from '@densepure/backend/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileSaveHandler } from './index.js';
import { chooseRuntime } from './runtime.js';
import { maxAbsDiff, seeded } from './ort.testutil.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'densepure-tfjs-native-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const right = <A>(r: E.Either<BackendError, A>): A => {
  if (E.isLeft(r)) throw new Error(`${r.left.kind}: ${r.left.message}`);
  return r.right;
};

/** The weight files a folder's model.json lists, as manifest `weights` entries (paths relative to `dir`). */
async function weightsOf(folder: string): Promise<{ file: string; sha256: string; sizeBytes: number }[]> {
  const json = JSON.parse(await readFile(join(dir, folder, 'model.json'), 'utf8')) as { weightsManifest?: { paths: string[] }[] };
  const out = [];
  for (const p of (json.weightsManifest ?? []).flatMap((g) => g.paths)) {
    const bytes = await readFile(join(dir, folder, p));
    out.push({ file: `${folder}/${p}`, sha256: sha256Hex(bytes), sizeBytes: bytes.length });
  }
  return out;
}

/** Writes `manifest` beside a model folder, fixing file, sha256 and sizeBytes to its model.json and listing its weights. */
async function manifestFor(folder: string, base: Record<string, unknown>, format: 'tfjs-graph' | 'tfjs-layers', name = folder): Promise<string> {
  const bytes = await readFile(join(dir, folder, 'model.json'));
  const path = join(dir, `${name}.json`);
  await writeFile(path, JSON.stringify({ ...base, format, file: `${folder}/model.json`, sha256: sha256Hex(bytes), sizeBytes: bytes.length, weights: await weightsOf(folder) }));
  return path;
}

describe('tfjs LayersModel from disk', () => {
  it('saves with fileSaveHandler, loads through the registry as tfjs-layers, and matches predict()', async () => {
    const choice = await chooseRuntime('wasm');
    if (E.isLeft(choice)) throw new Error(choice.left.message);
    const tf = choice.right.runtime.tf;
    await tf.setBackend('wasm');
    const input = tf.input({ shape: [1, 4, 4], name: 'x' });
    const flat = tf.layers.flatten().apply(input) as import('@tensorflow/tfjs').SymbolicTensor;
    const hidden = tf.layers.dense({ units: 5, activation: 'relu', name: 'hidden' }).apply(flat) as import('@tensorflow/tfjs').SymbolicTensor;
    const logits = tf.layers.dense({ units: 3, name: 'logits' }).apply(hidden) as import('@tensorflow/tfjs').SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: logits });
    await model.save(fileSaveHandler(join(dir, 'layers')));
    const x = seeded(4 * 16, 5, 0, 1);
    const expected = tf.tidy(() => (model.predict(tf.tensor(x, [4, 1, 4, 4])) as import('@tensorflow/tfjs').Tensor).dataSync().slice());
    model.dispose();

    const path = await manifestFor('layers', tinyClassifierManifest('x', new Uint8Array(1)), 'tfjs-layers');
    const c = right(await loadClassifier(path, { backend: 'tfjs', device: 'wasm' })());
    expect(c.metadata.format).toBe('tfjs-layers');
    const got = right(await c.run(x, 4)());
    expect(maxAbsDiff(got, expected)).toBeLessThanOrEqual(1e-6);
    await c.dispose();
  });
});

// GraphDef JSON as the tfjs converter writes it: out = concat(0.5 x, x*0 + t/1000 broadcast) on channels.
const dt = (type: string) => ({ type });
const cnst = (name: string, dtype: 'DT_FLOAT' | 'DT_INT32', dims: number[]) => ({
  name,
  op: 'Const',
  attr: { value: { tensor: { dtype, tensorShape: dims.length === 0 ? {} : { dim: dims.map((d) => ({ size: String(d) })) } } }, dtype: dt(dtype) },
});
const graphModelJson = {
  format: 'graph-model',
  generatedBy: 'densepure test',
  convertedBy: 'hand-written',
  modelTopology: {
    node: [
      { name: 'x', op: 'Placeholder', attr: { dtype: dt('DT_FLOAT'), shape: { shape: { dim: [{ size: '-1' }, { size: '1' }, { size: '4' }, { size: '4' }] } } } },
      { name: 't', op: 'Placeholder', attr: { dtype: dt('DT_INT32'), shape: { shape: { dim: [{ size: '-1' }] } } } },
      cnst('half', 'DT_FLOAT', []),
      cnst('thousand', 'DT_FLOAT', []),
      cnst('zero', 'DT_FLOAT', []),
      cnst('bshape', 'DT_INT32', [4]),
      cnst('axis', 'DT_INT32', []),
      { name: 'eps', op: 'Mul', input: ['x', 'half'], attr: { T: dt('DT_FLOAT') } },
      { name: 'tf', op: 'Cast', input: ['t'], attr: { SrcT: dt('DT_INT32'), DstT: dt('DT_FLOAT') } },
      { name: 'ts', op: 'RealDiv', input: ['tf', 'thousand'], attr: { T: dt('DT_FLOAT') } },
      { name: 't4', op: 'Reshape', input: ['ts', 'bshape'], attr: { T: dt('DT_FLOAT'), Tshape: dt('DT_INT32') } },
      { name: 'xz', op: 'Mul', input: ['x', 'zero'], attr: { T: dt('DT_FLOAT') } },
      { name: 'v', op: 'AddV2', input: ['xz', 't4'], attr: { T: dt('DT_FLOAT') } },
      { name: 'out', op: 'ConcatV2', input: ['eps', 'v', 'axis'], attr: { N: { i: '2' }, T: dt('DT_FLOAT'), Tidx: dt('DT_INT32') } },
    ],
    versions: { producer: 1 },
  },
  weightsManifest: [
    {
      paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'],
      weights: [
        { name: 'half', shape: [], dtype: 'float32' },
        { name: 'thousand', shape: [], dtype: 'float32' },
        { name: 'zero', shape: [], dtype: 'float32' },
        { name: 'bshape', shape: [4], dtype: 'int32' },
        { name: 'axis', shape: [], dtype: 'int32' },
      ],
    },
  ],
};

describe('tfjs GraphModel from disk', () => {
  let path = '';
  beforeAll(async () => {
    const folder = join(dir, 'graph');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'model.json'), JSON.stringify(graphModelJson));
    // Two shards, split mid-tensor, as the converter may do: the handler must concatenate them in order.
    const bytes = new Uint8Array([...new Uint8Array(new Float32Array([0.5, 1000, 0]).buffer), ...new Uint8Array(new Int32Array([-1, 1, 1, 1, 1]).buffer)]);
    await writeFile(join(folder, 'group1-shard1of2.bin'), bytes.subarray(0, 10));
    await writeFile(join(folder, 'group1-shard2of2.bin'), bytes.subarray(10));
    path = await manifestFor('graph', tinyDenoiserManifest('x', new Uint8Array(1)), 'tfjs-graph');
  });

  for (const device of ['wasm', 'cpu'] as const) {
    it(`${device}: runs as a Denoiser (int64 t fed as int32) with the conformance values`, async () => {
      const d = right(await loadDenoiser(path, { backend: 'tfjs', device })());
      const x = seeded(3 * 16, 9);
      const out = right(await d.run(x, [0, 145, 999])());
      for (let i = 0; i < x.length; i++) expect(out.eps[i]).toBeCloseTo(0.5 * x[i]!, 6);
      expect(out.v![5]).toBeCloseTo(0, 6);
      expect(out.v![16 + 5]).toBeCloseTo(0.145, 6);
      expect(out.v![32 + 5]).toBeCloseTo(0.999, 6);
      await d.dispose();
    });
  }

  it('a manifest naming an input the graph lacks is a model-contract error', async () => {
    const bytes = await readFile(join(dir, 'graph', 'model.json'));
    const bad = join(dir, 'graph-bad.json');
    const base = tinyDenoiserManifest('graph/model.json', bytes);
    await writeFile(bad, JSON.stringify({ ...base, format: 'tfjs-graph', weights: await weightsOf('graph'), inputs: [{ name: 'image', dtype: 'float32', shape: ['B', 1, 4, 4] }, { name: 't', dtype: 'int64', shape: ['B'] }] }));
    const r = await loadDenoiser(bad, { backend: 'tfjs' })();
    expect(E.isLeft(r) && r.left.kind).toBe('model-contract');
    expect(E.isLeft(r) && r.left.message).toContain("'image'");
  });

  it('changed weights are refused at load', async () => {
    await cp(join(dir, 'graph'), join(dir, 'graph-changed'), { recursive: true });
    const p = await manifestFor('graph-changed', tinyDenoiserManifest('x', new Uint8Array(1)), 'tfjs-graph');
    const shard = join(dir, 'graph-changed', 'group1-shard2of2.bin');
    const bytes = await readFile(shard);
    bytes[0] = (bytes[0]! + 1) % 256;
    await writeFile(shard, bytes);
    const r = await loadDenoiser(p, { backend: 'tfjs' })();
    expect(E.isLeft(r) && r.left.kind).toBe('corrupt-model');
    expect(E.isLeft(r) && r.left.message).toContain('group1-shard2of2.bin');
  });

  it('a weight file model.json lists but the manifest does not cover is refused', async () => {
    const p = await manifestFor('graph', tinyDenoiserManifest('x', new Uint8Array(1)), 'tfjs-graph', 'graph-partial');
    const m = JSON.parse(await readFile(p, 'utf8')) as { weights: { file: string }[] };
    await writeFile(p, JSON.stringify({ ...m, weights: m.weights.filter((w) => !w.file.endsWith('shard2of2.bin')) }));
    const r = await loadDenoiser(p, { backend: 'tfjs' })();
    expect(E.isLeft(r) && r.left.kind).toBe('model-contract');
    expect(E.isLeft(r) && r.left.message).toContain('group1-shard2of2.bin');
  });

  it('a model.json that is not a tfjs model is corrupt-model', async () => {
    await mkdir(join(dir, 'junk'), { recursive: true });
    await writeFile(join(dir, 'junk', 'model.json'), '{"hello": 1}');
    const p = await manifestFor('junk', tinyDenoiserManifest('x', new Uint8Array(1)), 'tfjs-graph');
    const r = await loadDenoiser(p, { backend: 'tfjs' })();
    expect(E.isLeft(r) && r.left.kind).toBe('corrupt-model');
  });
});
