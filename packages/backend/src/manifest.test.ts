import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { manifestPathFor, parseManifest } from './manifest.js';
import { tinyClassifierManifest, tinyDenoiserManifest } from './testing/tiny-models.js';

const bytes = new Uint8Array([1, 2, 3]);

describe('manifest schema', () => {
  it('accepts the tiny manifests', () => {
    expect(E.isRight(parseManifest(tinyDenoiserManifest('d.onnx', bytes), 'd.json'))).toBe(true);
    expect(E.isRight(parseManifest(tinyClassifierManifest('c.onnx', bytes), 'c.json'))).toBe(true);
  });
  it('names each bad key', () => {
    const bad = { ...tinyDenoiserManifest('d.onnx', bytes), imageSize: -3, diffusion: { schedule: 'quadratic' } };
    const result = parseManifest(bad, 'd.json');
    if (E.isRight(result)) throw new Error('expected failure');
    expect(result.left.kind).toBe('manifest-invalid');
    expect(result.left.message).toContain('imageSize');
    expect(result.left.message).toContain('diffusion.schedule');
    expect(result.left.message).toContain('d.json');
  });
  it('checks classNames against numClasses', () => {
    const bad = { ...tinyClassifierManifest('c.onnx', bytes), classNames: ['x'] };
    expect(E.isLeft(parseManifest(bad, 'c.json'))).toBe(true);
  });
  it('finds the manifest beside a model file', () => {
    expect(manifestPathFor('/a/b/model.onnx')).toBe('/a/b/model.json');
    expect(manifestPathFor('/a/b/model.json')).toBe('/a/b/model.json');
  });
});
