// The node entry point: the whole contract (portable.ts), with model paths read from disk (file-source.ts) and
// node's native sha256.
import { fileSource } from './file-source.js';
import { readManifestFrom } from './resolve.js';
import { modelLoaders } from './registry.js';

export * from './portable.js';
export { fileSource, manifestPathFor, readManifestFile, readRegularFile, sha256Hex } from './file-source.js';
export { type LocalFileError, type LocalFileOptions, isLocalFileError, readLocalFile, readLocalText } from './local-file.js';

export const { loadDenoiser, loadClassifier, resolveModel } = modelLoaders(fileSource);

/** A model path's manifest (the path is the manifest or the model file beside it), read and validated; the model file is not read. */
export const readModelManifest = (path: string) => readManifestFrom(fileSource(path));
