// The webgpu device (tfjs-backend-webgpu on Dawn through the `webgpu` package) here: Dawn's GL ES backend on Mesa's
// llvmpipe, a software adapter. The backend conformance suite, every ONNX op case and the shipped models against
// onnxruntime and PyTorch, then its failures as values. .ci/run installs Mesa's EGL, so in CI a missing adapter is
// a failure; on a machine without one the suite is skipped and says why.
//
// Tolerance: 1e-4 absolute, as on wasm. The GPU computes in float32 like onnxruntime does, only in another
// summation order; the shipped UNet's eps/v (values of order 1) differ by ~3e-6 here, a wrong padding or layout
// by > 1e-2.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import { loadDenoiser } from '@densepure/backend';
import { describeBackendConformance } from '@densepure/backend/conformance';
import { type TinyModelPaths, seeded, writeTinyModels } from '@densepure/backend/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runError } from './engine.js';
import './index.js';
import { OP_CASES } from './onnx/ops/all.cases.testutil.js';
import { describeOrtCases } from './onnx/ops/cases.testutil.js';
import { chooseRuntime, destroyWebgpuDevice } from './runtime.js';
import { type ZooSizes, describeZooAgreement, zooModels } from './zoo.testutil.js';

// This file is the application here: with no display, Mesa's EGL is told to run surfaceless.
process.env['EGL_PLATFORM'] ??= 'surfaceless';

const DEVICE = 'webgpu:opengles';
const opened = await chooseRuntime(DEVICE);
const available = E.isRight(opened);
const inCi = process.env['CI'] === 'true';
const skipReason = E.isLeft(opened) ? opened.left.message : '';
if (!available && !inCi) console.log(`webgpu tests skipped: ${skipReason}`);

// llvmpipe runs the UNet at ~1 image/s on one core: batches are kept small.
const SOFTWARE_SIZES: ZooSizes = { denoiserTimesteps: [0, 145, 400, 999], classifierBatch: 32, realDigits: 64, realDenoised: 4, memoryRuns: 4 };

describe(`webgpu device (${DEVICE})`, () => {
  it.skipIf(!available && !inCi)(
    available || inCi
      ? 'opens an adapter and names it'
      : `skipped: ${skipReason}`,
    () => {
      if (E.isLeft(opened)) throw new Error(opened.left.message);
      expect(opened.right.runtime.label).toMatch(/^tfjs 4\.22\.0 \(webgpu: opengles, .+, compatibility mode/);
    },
  );
});

if (available || inCi) {
  describeBackendConformance('tfjs', { loadOptions: { device: DEVICE }, models: zooModels });
  describeOrtCases(`every ONNX op case agrees with onnxruntime on ${DEVICE}`, Object.values(OP_CASES).flat(), [DEVICE]);
  describeZooAgreement(DEVICE, SOFTWARE_SIZES);

  describe('webgpu failures are values that say what to do', () => {
    let dir = '';
    let paths: TinyModelPaths;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'densepure-webgpu-'));
      paths = await writeTinyModels(dir);
    });
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('an unknown Dawn backend is refused with the list of backends', async () => {
      const got = await chooseRuntime('webgpu:cuda');
      if (E.isRight(got)) throw new Error('webgpu:cuda was accepted');
      expect(got.left.kind).toBe('backend-unavailable');
      expect(got.left.message).toContain('webgpu:<backend> with one of vulkan, metal, d3d12, d3d11, opengles, opengl');
    });

    it('a second webgpu device in the same process is refused, naming the one in use', async () => {
      const got = await chooseRuntime('webgpu:vulkan');
      if (E.isRight(got)) throw new Error('a second webgpu device was opened');
      expect(got.left.message).toContain(`the webgpu device ${DEVICE} is in use in this process`);
    });

    it('a kernel the webgpu backend lacks names the op and the devices that have it', async () => {
      const choice = await chooseRuntime(DEVICE);
      if (E.isLeft(choice)) throw new Error(choice.left.message);
      const tf = choice.right.runtime.tf;
      let thrown: unknown;
      try {
        // tfjs-backend-webgpu 4.22 has no Unique kernel: this is tfjs's own error for it.
        tf.unique(tf.tensor1d([3, 1, 3]));
      } catch (cause) {
        thrown = cause;
      }
      const err = runError(choice.right.runtime, 'some-model', thrown);
      expect(err.message).toContain("the webgpu device cannot run some-model: tfjs's webgpu backend has no 'Unique' kernel");
      expect(err.message).toContain('load the model on device wasm or cpu');
    });

    it('a GPU error raised during a run fails that run, listing it; the next run is clean', async () => {
      const loaded = await loadDenoiser(paths.denoiser, { backend: 'tfjs', device: DEVICE })();
      if (E.isLeft(loaded)) throw new Error(loaded.left.message);
      const choice = await chooseRuntime(DEVICE);
      if (E.isLeft(choice)) throw new Error(choice.left.message);
      // A buffer with an invalid usage: Dawn reports it as an uncaptured validation error, as it would a broken kernel.
      const gpu = (choice.right.runtime.tf.backend() as unknown as { device: { createBuffer(d: { size: number; usage: number }): unknown } }).device;
      gpu.createBuffer({ size: 4, usage: 0xffff });
      await new Promise((r) => setTimeout(r, 50));
      const x = seeded(16, 4);
      const failed = await loaded.right.run(x, [3])();
      if (E.isRight(failed)) throw new Error('a run with a pending GPU error succeeded');
      expect(failed.left.kind).toBe('runtime-failure');
      expect(failed.left.message).toMatch(/the webgpu device reported errors while running .+: .*usage/i);
      expect(E.isRight(await loaded.right.run(x, [3])())).toBe(true);
      await loaded.right.dispose();
    });

    // Last: it replaces the device every suite above used.
    it('a lost device fails runs with a message, and loading again opens a new device', async () => {
      const loaded = await loadDenoiser(paths.denoiser, { backend: 'tfjs', device: DEVICE })();
      if (E.isLeft(loaded)) throw new Error(loaded.left.message);
      const x = seeded(16, 3);
      expect(E.isRight(await loaded.right.run(x, [7])())).toBe(true);
      expect(await destroyWebgpuDevice()).toBe(true);
      await new Promise((r) => setTimeout(r, 50)); // the lost promise settles on Dawn's next event tick
      const after = await loaded.right.run(x, [7])();
      if (E.isRight(after)) throw new Error('a run on a destroyed device succeeded');
      expect(after.left.kind).toBe('runtime-failure');
      expect(after.left.message).toMatch(/the webgpu device running .+ was lost \(destroyed: .+\); load the model again/);
      await loaded.right.dispose();

      const again = await loadDenoiser(paths.denoiser, { backend: 'tfjs', device: DEVICE })();
      if (E.isLeft(again)) throw new Error(again.left.message);
      const out = await again.right.run(x, [7])();
      if (E.isLeft(out)) throw new Error(out.left.message);
      expect(out.right.eps[5]).toBeCloseTo(0.5 * x[5]!, 6);
      await again.right.dispose();
    });
  });
}
