// The contract without node: every module a browser (or a worker, or Deno) needs. Model paths need a file
// system, so here `loadDenoiser('path')` answers with an error that asks for a URL or bytes source; the node
// entry point (index.ts) opens paths as files. Bundlers pick this file through the package's `browser` condition.
import { either as E } from 'fp-ts';
import { modelLoaders } from './registry.js';
import type { ModelSource } from './source.js';

export * from './errors.js';
export * from './hash.js';
export * from './manifest.js';
export * from './source.js';
export * from './resolve.js';
export * from './url-source.js';
export * from './bytes-source.js';
export * from './outputs.js';
export * from './types.js';
export * from './validate.js';
export * from './signature.js';
export * from './registry.js';
export * from './wrap.js';
export * from './manifest-builder.js';
export * from './smoke.js';

/** A path where there is no file system: every read says what to pass instead. */
export const noFileSystem = (path: string): ModelSource => ({
  manifestLocation: path,
  readManifest: async () =>
    E.left({
      kind: 'file-not-found',
      path,
      message: `model path '${path}': there is no file system here (the browser build of @densepure/backend); pass urlSource(url, { fetch }) or bytesSource({ manifest, files }) instead of a path`,
    }),
  readFile: async () => E.left({ kind: 'file-not-found', path, message: `model path '${path}': there is no file system here` }),
});

export const { loadDenoiser, loadClassifier, resolveModel } = modelLoaders(noFileSystem);
