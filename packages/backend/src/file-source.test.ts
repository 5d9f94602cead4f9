// The file source: model paths stay in their folder, are regular files, are size-checked before reading, and
// every tfjs weight file is covered by the manifest and checked.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendError } from './errors.js';
import { resolveModel, sha256Hex } from './index.js';
import { tinyDenoiserManifest, tinyDenoiserOnnx } from './testing/tiny-models.js';

let dir = '';
const model = tinyDenoiserOnnx();
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'densepure-files-'));
  await mkdir(join(dir, 'models'));
  await writeFile(join(dir, 'models', 'ok.onnx'), model);
  await writeFile(join(dir, 'secret.onnx'), model);
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Writes models/<stem>.json with `patch` over a valid tiny denoiser manifest for `ok.onnx`. */
async function manifest(stem: string, patch: Record<string, unknown>): Promise<string> {
  const path = join(dir, 'models', `${stem}.json`);
  await writeFile(path, JSON.stringify({ ...tinyDenoiserManifest('ok.onnx', model), ...patch }));
  return path;
}

const left = (r: E.Either<BackendError, unknown>): BackendError => {
  if (E.isRight(r)) throw new Error('expected an error, but the model resolved');
  return r.left;
};

describe('model files stay inside the manifest folder', () => {
  it('a file outside the folder is refused before it is read (no sha256 of it is printed)', async () => {
    const err = left(await resolveModel(await manifest('escape', { file: '../secret.onnx', sha256: '0'.repeat(64) }))());
    expect(err.kind).toBe('manifest-invalid');
    expect(err.message).toContain('outside');
    expect(err.message).not.toContain(sha256Hex(model));
    const passwd = left(await resolveModel(await manifest('passwd', { file: '../../../../../../../../etc/passwd' }))());
    expect(passwd.kind).toBe('manifest-invalid');
    const absolute = left(await resolveModel(await manifest('absolute', { file: '/etc/passwd' }))());
    expect(absolute.kind).toBe('manifest-invalid');
  });

  it('a symlink inside the folder that points outside is refused (realpath, then the check)', async () => {
    await symlink(join(dir, 'secret.onnx'), join(dir, 'models', 'link.onnx'));
    const err = left(await resolveModel(await manifest('link', { file: 'link.onnx' }))());
    expect(err.kind).toBe('manifest-invalid');
    expect(err.message).toContain('outside');
  });

  it('a symlink that stays inside the folder is fine', async () => {
    await symlink(join(dir, 'models', 'ok.onnx'), join(dir, 'models', 'inner-link.onnx'));
    const r = await resolveModel(await manifest('inner', { file: 'inner-link.onnx' }))();
    expect(E.isRight(r)).toBe(true);
  });

  it('a FIFO is refused as not a regular file, without hanging', async () => {
    execFileSync('mkfifo', [join(dir, 'models', 'fifo.onnx')]);
    const err = left(await resolveModel(await manifest('fifo', { file: 'fifo.onnx' }))());
    expect(err.kind).toBe('corrupt-model');
    expect(err.message).toContain('not a regular file');
  }, 10_000);

  it('a device (a symlink to /dev/zero inside the folder) is refused, not read', async () => {
    await symlink('/dev/zero', join(dir, 'models', 'zero.onnx'));
    const err = left(await resolveModel(await manifest('zero', { file: 'zero.onnx' }))());
    expect(['manifest-invalid', 'corrupt-model']).toContain(err.kind);
  }, 10_000);

  it('a file whose size differs from the manifest sizeBytes is refused before it is hashed', async () => {
    const err = left(await resolveModel(await manifest('size', { sizeBytes: model.length + 1, sha256: '0'.repeat(64) }))());
    expect(err.kind).toBe('corrupt-model');
    expect(err.message).toContain(`${model.length} bytes`);
    expect(err.message).not.toContain(sha256Hex(model));
  });

  it('sizeBytes is required', async () => {
    const base = tinyDenoiserManifest('ok.onnx', model);
    delete (base as { sizeBytes?: number }).sizeBytes;
    const path = join(dir, 'models', 'nosize.json');
    await writeFile(path, JSON.stringify(base));
    const err = left(await resolveModel(path)());
    expect(err.kind).toBe('manifest-invalid');
    expect(err.message).toContain('sizeBytes');
  });

  it('a manifest that is itself a FIFO is refused without hanging', async () => {
    execFileSync('mkfifo', [join(dir, 'models', 'pipe.json')]);
    const err = left(await resolveModel(join(dir, 'models', 'pipe.json'))());
    expect(err.message).toContain('not a regular file');
  }, 10_000);

  it('the resolved model carries the verified bytes (backends never re-read the file)', async () => {
    const r = await resolveModel(join(dir, 'models', 'ok.json').replace('ok.json', 'inner.json'))();
    if (E.isLeft(r)) throw new Error(r.left.message);
    expect(sha256Hex(r.right.modelBytes)).toBe(sha256Hex(model));
  });
});

describe('tfjs weight files are covered by the manifest', () => {
  const json = new TextEncoder().encode('{"modelTopology":{},"weightsManifest":[{"paths":["w.bin"],"weights":[]}]}');
  const weights = new Uint8Array([1, 2, 3, 4]);
  let folder = '';
  beforeAll(async () => {
    folder = join(dir, 'tf');
    await mkdir(join(folder, 'm'), { recursive: true });
    await writeFile(join(folder, 'm', 'model.json'), json);
    await writeFile(join(folder, 'm', 'w.bin'), weights);
  });
  const tfManifest = async (stem: string, patch: Record<string, unknown>): Promise<string> => {
    const path = join(folder, `${stem}.json`);
    await writeFile(path, JSON.stringify({ ...tinyDenoiserManifest('m/model.json', json), format: 'tfjs-graph', ...patch }));
    return path;
  };
  const entry = { file: 'm/w.bin', sha256: sha256Hex(weights), sizeBytes: weights.length };

  it('a tfjs manifest must list its weight files', async () => {
    const err = left(await resolveModel(await tfManifest('noweights', {}))());
    expect(err.kind).toBe('manifest-invalid');
    expect(err.message).toContain('weights');
  });

  it('every listed weight file is checked: changed weights are corrupt-model', async () => {
    const ok = await resolveModel(await tfManifest('ok', { weights: [entry] }))();
    if (E.isLeft(ok)) throw new Error(ok.left.message);
    expect(ok.right.weightFiles.get('w.bin')).toEqual(new Uint8Array(weights));
    const err = left(await resolveModel(await tfManifest('changed', { weights: [{ ...entry, sha256: '1'.repeat(64) }] }))());
    expect(err.kind).toBe('corrupt-model');
    expect(err.message).toContain('w.bin');
  });

  it('weight files must stay inside the manifest folder too', async () => {
    const err = left(await resolveModel(await tfManifest('wescape', { weights: [{ ...entry, file: '../models/ok.onnx' }] }))());
    expect(err.kind).toBe('manifest-invalid');
    expect(err.message).toContain('outside');
  });

  it('an onnx manifest may not list weights (it would be ignored)', async () => {
    const err = left(await resolveModel(await manifest('onnxweights', { weights: [entry] }))());
    expect(err.kind).toBe('manifest-invalid');
  });
});
