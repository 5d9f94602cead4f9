// A code-built UNet-like graph (the op mix torch exports for improved-diffusion UNets) run through
// onnxruntime-node and tfjs on the same inputs; and tfjs's tensor count stays flat over many batches.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import { loadDenoiser } from '@densepure/backend';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import './index.js';
import { type Feed, maxAbsDiff, runOrt, runTfjs, seeded } from './ort.testutil.js';
import { chooseRuntime } from './runtime.js';
import { unetLikeManifest, unetLikeOnnx } from './unet-graph.js';

const S = 8;
const bytes = unetLikeOnnx({ imageSize: S });
const batch = 3;
const feeds: Feed[] = [
  { name: 'x', type: 'float32', shape: [batch, 1, S, S], data: seeded(batch * S * S, 11) },
  { name: 't', type: 'int64', shape: [batch], data: [3, 250, 999] },
];

describe('UNet-like graph: tfjs vs onnxruntime', () => {
  for (const device of ['wasm', 'cpu'] as const) {
    it(`${device}: max abs difference <= 1e-4`, async () => {
      const [expected] = await runOrt(bytes, feeds, ['out']);
      const [actual] = await runTfjs(bytes, feeds, ['out'], device);
      expect(actual!.length).toBe(batch * 2 * S * S);
      const diff = maxAbsDiff(actual!, expected!);
      expect(diff).toBeLessThanOrEqual(1e-4);
      // The graph is not trivially zero: the comparison means something.
      expect(Math.max(...expected!.map(Math.abs))).toBeGreaterThan(0.05);
    });
  }
});

describe('memory', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'densepure-tfjs-mem-'));
    await writeFile(join(dir, 'unet.onnx'), bytes);
    await writeFile(join(dir, 'unet.json'), JSON.stringify(unetLikeManifest('unet.onnx', bytes, S)));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const device of ['wasm', 'cpu'] as const) {
    it(`${device}: tf.memory().numTensors is flat over many batches and back to its start after dispose`, async () => {
      const choice = await chooseRuntime(device);
      if (E.isLeft(choice)) throw new Error(choice.left.message);
      const tf = choice.right.runtime.tf;
      const before = tf.memory().numTensors;
      const loaded = await loadDenoiser(join(dir, 'unet.json'), { backend: 'tfjs', device })();
      if (E.isLeft(loaded)) throw new Error(loaded.left.message);
      const d = loaded.right;
      const counts: number[] = [];
      for (let i = 0; i < 25; i++) {
        const b = 1 + (i % 4);
        const out = await d.run(seeded(b * S * S, i), Array.from({ length: b }, (_, k) => (i * 37 + k) % 1000))();
        expect(E.isRight(out)).toBe(true);
        counts.push(tf.memory().numTensors);
      }
      // Static weights are uploaded on first use; from then on every batch frees all it made.
      expect(new Set(counts.slice(1)).size).toBe(1);
      expect(counts[0]).toBe(counts[24]);
      await d.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
