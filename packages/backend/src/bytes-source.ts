// Models already in memory: a manifest's JSON and the bytes of the files it names (tests, a browser's file
// picker, an HTTP upload). Checked like files on disk: names stay below the manifest's folder, sizes and sha256
// must match the manifest (resolve.ts).
import { either as E } from 'fp-ts';
import type { BackendError } from './errors.js';
import { type ModelSource, manifestTooLarge, outsideFolder, relativeName, sizeMismatch } from './source.js';

export interface BytesSourceInput {
  /** The manifest's JSON, as text or bytes (its sha256 is taken over these bytes; text is UTF-8 encoded). */
  readonly manifest: string | Uint8Array;
  /** The files the manifest names, by their name in the manifest (relative to the manifest, '/' separators). */
  readonly files: ReadonlyMap<string, Uint8Array> | Readonly<Record<string, Uint8Array>>;
  /** Names the manifest in messages and metadata: `bytes:<name>` (default `bytes:manifest.json`). */
  readonly name?: string;
}

/**
 * Models in memory. Metadata names the manifest `bytes:<name>` and the model file `bytes:<file>` (its
 * normalised name in the manifest). The bytes are copied once read, so what a backend loads is what was hashed
 * even if the caller reuses its arrays.
 */
export function bytesSource(input: BytesSourceInput): ModelSource {
  const manifestLocation = `bytes:${input.name ?? 'manifest.json'}`;
  const files = new Map<string, Uint8Array>();
  const entries = input.files instanceof Map ? [...input.files.entries()] : Object.entries(input.files);
  for (const [name, bytes] of entries) {
    const key = relativeName(name);
    files.set(E.isRight(key) ? key.right : name, bytes);
  }
  return {
    manifestLocation,
    readManifest: async (maxBytes) => {
      const bytes = typeof input.manifest === 'string' ? new TextEncoder().encode(input.manifest) : input.manifest;
      return bytes.length > maxBytes ? E.left(manifestTooLarge(manifestLocation, bytes.length, maxBytes)) : E.right(new Uint8Array(bytes));
    },
    readFile: async (record, what) => {
      const name = relativeName(record.file);
      if (E.isLeft(name)) return E.left(outsideFolder(manifestLocation, what, record.file, name.left));
      const location = `bytes:${name.right}`;
      const bytes = files.get(name.right);
      if (bytes === undefined) {
        const given = [...files.keys()].join(', ') || 'none';
        const missing: BackendError = { kind: 'file-not-found', path: location, message: `${what} '${record.file}' is not among the files given (${given}): pass its bytes under that name` };
        return E.left(missing);
      }
      if (bytes.length !== record.sizeBytes) return E.left(sizeMismatch(location, what, bytes.length, manifestLocation, record.sizeBytes));
      // A copy in a buffer of its own (a node Buffer's slice() would share memory).
      return E.right({ location, bytes: new Uint8Array(bytes) });
    },
  };
}
