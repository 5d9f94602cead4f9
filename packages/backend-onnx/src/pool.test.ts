// Issue 12 item 6: a worker that dies rejects the work it held (and all queued work) with a clear error, and
// dispose rejects pending runs; nothing waits forever. The workers here really die (process.exit in the thread).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import { type BackendError, type ResolvedModel, resolveModel } from '@densepure/backend';
import { TINY_PIXELS, writeTinyModels } from '@densepure/backend/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine, poolEngine } from './engine.js';

let dir = '';
let model: ResolvedModel;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'densepure-pool-'));
  const paths = await writeTinyModels(dir);
  const r = await resolveModel(paths.denoiser)();
  if (E.isLeft(r)) throw new Error(r.left.message);
  model = r.right;
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const fixture = (name: string): URL => new URL(`./test-workers/${name}.mjs`, import.meta.url);
const x = new Float32Array(TINY_PIXELS);
const left = (r: E.Either<BackendError, unknown>): BackendError => {
  if (E.isRight(r)) throw new Error('expected an error');
  return r.left;
};

describe('onnx worker pool: workers that die', () => {
  it('a worker that dies mid-run rejects that run and every queued run, and the engine stays failed', async () => {
    const engine = await poolEngine(model, { workers: 1, threads: 1 }, fixture('exit-on-run'));
    if (E.isLeft(engine)) throw new Error(engine.left.message);
    const [first, queued] = await Promise.all([engine.right.run(x, 1, [1]), engine.right.run(x, 1, [2])]);
    const err = left(first);
    expect(err.kind).toBe('runtime-failure');
    expect(err.message).toContain('exited');
    expect(err.message).toContain('code 7');
    expect(left(queued).kind).toBe('runtime-failure');
    expect(left(await engine.right.run(x, 1, [3])).message).toContain('exited');
    await engine.right.dispose();
  });

  it('a worker that dies while loading fails the load instead of hanging', async () => {
    const engine = await poolEngine(model, { workers: 2, threads: 1 }, fixture('exit-on-load'));
    expect(left(engine).message).toContain('exited');
  });

  it('dispose rejects runs still pending', async () => {
    const engine = await poolEngine(model, { workers: 1, threads: 1 }, fixture('silent-on-run'));
    if (E.isLeft(engine)) throw new Error(engine.left.message);
    const running = engine.right.run(x, 1, [1]);
    const queued = engine.right.run(x, 1, [2]);
    await engine.right.dispose();
    expect(left(await running).kind).toBe('disposed');
    expect(left(await queued).kind).toBe('disposed');
    expect(left(await engine.right.run(x, 1, [3])).kind).toBe('disposed');
  });
});

describe('onnx messages name no CLI flags', () => {
  it('bad workers and devices are described in library words', async () => {
    const workers = left(await openEngine(model, { workers: -1 }));
    expect(workers.message).toContain('workers');
    expect(workers.message).not.toMatch(/--[a-z]/);
    const device = left(await openEngine(model, { device: 'tpu' }));
    expect(device.message).toContain('device');
    expect(device.message).not.toMatch(/--[a-z]/);
  });
});
