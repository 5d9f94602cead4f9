import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E, taskEither as TE } from 'fp-ts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatBackendError, runtimeFailure } from './errors.js';
import { loadDenoiser } from './index.js';
import { parseModelSpec, registerBackend, registeredBackends, unregisterBackend } from './registry.js';
import { writeTinyModels, type TinyModelPaths } from './testing/tiny-models.js';
import type { Backend, Denoiser } from './types.js';
import { denoiserMetadata } from './registry.js';

// Registry logic is tested with in-process backends: the point is the ordering and error collection,
// which real backends (onnx, tfjs) exercise through the conformance suite.
function fakeBackend(name: string, priority: number, works: boolean, log: string[]): Backend {
  return {
    name,
    priority,
    formats: ['onnx'],
    probe: async () => ({ available: true, runtime: name, devices: ['cpu'], notes: [] }),
    loadDenoiser: (model) => {
      log.push(name);
      if (!works) return TE.left(runtimeFailure(`${name} refuses`));
      const d: Denoiser = {
        metadata: denoiserMetadata(model, name, name),
        run: () => TE.left(runtimeFailure('not used')),
        dispose: async () => undefined,
      };
      return TE.right(d);
    },
    loadClassifier: () => TE.left(runtimeFailure('not used')),
  };
}

describe('parseModelSpec', () => {
  it('reads backend:path and plain paths', () => {
    expect(parseModelSpec('onnx:/m/d.onnx')).toEqual(E.right({ backend: 'onnx', path: '/m/d.onnx' }));
    expect(parseModelSpec('/m/d.onnx')).toEqual(E.right({ path: '/m/d.onnx' }));
    expect(parseModelSpec('/m/d.onnx', 'tfjs')).toEqual(E.right({ backend: 'tfjs', path: '/m/d.onnx' }));
    expect(parseModelSpec('C:\\models\\d.onnx')).toEqual(E.right({ path: 'C:\\models\\d.onnx' }));
  });
  it('refuses two different backends and empty paths', () => {
    expect(E.isLeft(parseModelSpec('onnx:/m/d.onnx', 'tfjs'))).toBe(true);
    expect(E.isLeft(parseModelSpec('onnx:'))).toBe(true);
  });
});

describe('registerBackend', () => {
  afterEach(() => {
    for (const b of registeredBackends()) unregisterBackend(b.name);
  });
  it('refuses a second, different backend under a name already taken, and keeps the first', () => {
    const first = fakeBackend('dup', 1, true, []);
    expect(E.isRight(registerBackend(first))).toBe(true);
    const second = registerBackend(fakeBackend('dup', 5, true, []));
    if (E.isRight(second)) throw new Error('expected the second registration to be refused');
    expect(second.left.kind).toBe('backend-name-taken');
    expect(second.left.message).toContain("'dup'");
    expect(registeredBackends()).toEqual([first]);
  });
  it('registering the very same backend again is a no-op', () => {
    const b = fakeBackend('same', 1, true, []);
    expect(E.isRight(registerBackend(b))).toBe(true);
    expect(E.isRight(registerBackend(b))).toBe(true);
    expect(registeredBackends()).toEqual([b]);
  });
});

describe('registry messages name no CLI flags', () => {
  it('two different backends for one model', () => {
    const r = parseModelSpec('onnx:/m/d.onnx', 'tfjs');
    expect(E.isLeft(r) && r.left.message).not.toMatch(/--[a-z]/);
  });
});

describe('registry fallback', () => {
  let dir = '';
  let paths: TinyModelPaths;
  const log: string[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'densepure-registry-'));
    paths = await writeTinyModels(dir);
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));
  afterEach(() => {
    for (const b of registeredBackends()) unregisterBackend(b.name);
    log.length = 0;
  });

  it('orders by priority and falls back past a failing backend', async () => {
    registerBackend(fakeBackend('low', 1, true, log));
    registerBackend(fakeBackend('high', 10, false, log));
    expect(registeredBackends().map((b) => b.name)).toEqual(['high', 'low']);
    const result = await loadDenoiser(paths.denoiser)();
    expect(E.isRight(result) && result.right.metadata.backend).toBe('low');
    expect(log).toEqual(['high', 'low']);
  });

  it('collects every backend reason when all fail', async () => {
    registerBackend(fakeBackend('a', 2, false, log));
    registerBackend(fakeBackend('b', 1, false, log));
    const result = await loadDenoiser(paths.denoiser)();
    if (E.isRight(result)) throw new Error('expected failure');
    expect(result.left.kind).toBe('no-backend');
    const text = formatBackendError(result.left);
    expect(text).toContain('a: a refuses');
    expect(text).toContain('b: b refuses');
  });

  it('a named backend is the only one tried; an unknown name lists the registered ones', async () => {
    registerBackend(fakeBackend('alpha', 2, true, log));
    registerBackend(fakeBackend('beta', 1, true, log));
    const result = await loadDenoiser(`beta:${paths.denoiser}`)();
    expect(E.isRight(result) && result.right.metadata.backend).toBe('beta');
    expect(log).toEqual(['beta']);
    const unknown = await loadDenoiser(paths.denoiser, { backend: 'nope' })();
    expect(E.isLeft(unknown) && unknown.left.kind).toBe('unknown-backend');
    expect(E.isLeft(unknown) && unknown.left.message).toContain('registered: alpha, beta');
  });

  it('reports missing files, bad manifests and sha mismatches before any backend runs', async () => {
    registerBackend(fakeBackend('a', 1, true, log));
    const missing = await loadDenoiser(paths.missing)();
    expect(E.isLeft(missing) && missing.left.kind).toBe('file-not-found');
    const sha = await loadDenoiser(paths.shaMismatch)();
    expect(E.isLeft(sha) && sha.left.kind).toBe('corrupt-model');
    expect(log).toEqual([]);
  });
});
