// Where a model's manifest and the files it names are read from. The contract reads models only through this
// interface, so the same resolution and checks (schema, size, sha256: see resolve.ts) apply to files on disk
// (file-source.ts, node only), URLs (url-source.ts) and bytes in memory (bytes-source.ts). Nothing here
// imports node: a browser can use every module but file-source.ts.
import { either as E } from 'fp-ts';
import { type BackendError, corruptModel, manifestInvalid } from './errors.js';

/** Manifests are small JSON files; anything larger is refused before it is read. */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

/** What a manifest records about one file it names. */
export interface FileRecord {
  /** As written in the manifest: relative to the manifest's folder. */
  readonly file: string;
  readonly sha256: string;
  readonly sizeBytes: number;
}

/** A file a manifest names, read (not yet hashed); `location` is where it really is (a real path, a URL, ...). */
export interface SourcedFile {
  readonly location: string;
  readonly bytes: Uint8Array;
}

/**
 * Reads a manifest and the files it names. A source refuses, before reading a byte, a file whose size differs
 * from what the manifest records, a manifest larger than the limit it is given, and a file that lies outside
 * the manifest's folder (or base URL); the caller (`resolveModel`) parses the manifest and checks sizes and
 * sha256 again on the bytes it got.
 */
export interface ModelSource {
  /**
   * Names the manifest in messages and in `ModelMetadata.manifestPath`: the absolute path for a file, the URL
   * for a URL source, `bytes:<name>` for bytes in memory.
   */
  readonly manifestLocation: string;
  /**
   * The folder absolute names in the manifest resolve against (a file source's folder); only used to key tfjs
   * weight files relative to the model file. Sources that refuse absolute names leave it out ('/').
   */
  readonly folder?: string;
  /** The manifest's bytes, refused unread when larger than `maxBytes`. */
  readManifest(maxBytes: number): Promise<E.Either<BackendError, Uint8Array>>;
  /** The bytes of a file the manifest names; `what` names it in messages ('model file', 'weights file'). */
  readFile(record: FileRecord, what: string): Promise<E.Either<BackendError, SourcedFile>>;
  /**
   * How this source hashes what it read, as lowercase hex: a node file source uses node's native hash (fast,
   * no copy, for models of gigabytes); by default the portable one (`sha256Hex`).
   */
  readonly sha256Hex?: (bytes: Uint8Array) => string;
}

/** The manifest is larger than a manifest may be. */
export const manifestTooLarge = (location: string, size: number, maxBytes: number): BackendError =>
  manifestInvalid(location, `it is ${size} bytes; a manifest is a small JSON file (at most ${maxBytes})`);

/** A file is not the size its manifest records: say so before hashing it (no sha256 of the wrong file is printed). */
export const sizeMismatch = (location: string, what: string, size: number | string, manifestLocation: string, expected: number): BackendError =>
  corruptModel(
    location,
    `the ${what} is ${size} bytes but the manifest ${manifestLocation} records sizeBytes ${expected}; the file is truncated, damaged or not the one the manifest describes`,
  );

/** A name the manifest gives that leaves the manifest's folder (or base URL). */
export const outsideFolder = (manifestLocation: string, what: string, file: string, detail: string): BackendError =>
  manifestInvalid(
    manifestLocation,
    `${what} '${file}' ${detail}; a manifest may only name files in its own folder or below it (move the file there, or the manifest beside it)`,
  );

/**
 * A manifest's file name, checked and normalised as a '/'-separated path below the manifest's folder: no
 * absolute path, no scheme or drive ('https:', 'C:'), no backslash, no '..' that climbs out. Sources without a
 * file system (URL, bytes) use it; the file source checks real paths instead (symlinks resolved).
 */
export function relativeName(file: string): E.Either<string, string> {
  if (file.startsWith('/') || /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(file)) return E.left('is absolute');
  if (file.includes('\\')) return E.left("contains '\\' (use '/' between folders)");
  const parts: string[] = [];
  for (const part of file.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return E.left('climbs out of the folder');
      parts.pop();
    } else parts.push(part);
  }
  return parts.length === 0 ? E.left('names no file') : E.right(parts.join('/'));
}

/** posix resolve of `name` against the absolute folder `root`, as segments. */
function resolveSegments(root: string, name: string): string[] {
  const out: string[] = [];
  for (const part of `${name.startsWith('/') ? '' : root}/${name}`.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out;
}

/**
 * How a tfjs model.json refers to a weight file the manifest lists: its path relative to the model file's folder,
 * with '/' separators (both names relative to the manifest's folder `root`, or absolute).
 */
export function weightKey(root: string, modelFile: string, weightFile: string): string {
  const from = resolveSegments(root, modelFile).slice(0, -1);
  const to = resolveSegments(root, weightFile);
  let common = 0;
  while (common < from.length && common < to.length && from[common] === to[common]) common++;
  return [...Array<string>(from.length - common).fill('..'), ...to.slice(common)].join('/');
}
