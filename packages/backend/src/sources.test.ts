// Model sources: files, URLs (through a fake fetch: no network) and bytes resolve the same model to the same
// verified bytes, and each refuses what the file source refuses (names outside the folder, wrong sizes before
// reading, wrong sha256), with the shared checks of resolve.ts.
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { either as E, taskEither as TE } from 'fp-ts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bytesSource } from './bytes-source.js';
import type { BackendError } from './errors.js';
import { fileSource, sha256Hex as nodeSha256Hex } from './file-source.js';
import { sha256Hex } from './hash.js';
import { loadClassifier, resolveModel } from './index.js';
import { loadClassifier as portableLoadClassifier } from './portable.js';
import { classifierMetadata, registerBackend, unregisterBackend } from './registry.js';
import { type ResolvedModel, resolveModelFrom } from './resolve.js';
import { MAX_MANIFEST_BYTES, type ModelSource, relativeName, weightKey } from './source.js';
import { tinyClassifierManifest, tinyClassifierOnnx } from './testing/tiny-models.js';
import type { Backend, Classifier } from './types.js';
import { type Fetch, type FetchResponse, urlSource } from './url-source.js';

// A plain Uint8Array (the builder returns a node Buffer, whose slice() shares memory).
const model = new Uint8Array(tinyClassifierOnnx());
const manifestJson = JSON.stringify(tinyClassifierManifest('tiny.onnx', model), null, 2);
const encoder = new TextEncoder();

const right = <A>(r: E.Either<BackendError, A>): A => {
  if (E.isLeft(r)) throw new Error(`expected success, got ${r.left.kind}: ${r.left.message}`);
  return r.right;
};
const left = (r: E.Either<BackendError, unknown>): BackendError => {
  if (E.isRight(r)) throw new Error('expected an error, but the model resolved');
  return r.left;
};
const resolveFrom = (source: ModelSource) => resolveModelFrom(source)();

/** A fetch over a map of URL -> bytes, recording each URL asked for; 404 for anything else. */
function fakeFetch(files: Record<string, Uint8Array | string>, options: { contentLength?: boolean } = {}): Fetch & { asked: string[] } {
  const asked: string[] = [];
  const fetch = async (url: string): Promise<FetchResponse> => {
    asked.push(url);
    const body = files[url];
    if (body === undefined) return new Response('no such file', { status: 404, statusText: 'Not Found' });
    const bytes = typeof body === 'string' ? encoder.encode(body) : body;
    return new Response(bytes, { status: 200, headers: options.contentLength === false ? {} : { 'content-length': String(bytes.length) } });
  };
  return Object.assign(fetch, { asked });
}

const BASE = 'https://models.example/zoo/';

describe('every source resolves the same model to the same verified bytes', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'densepure-sources-'));
    await writeFile(join(dir, 'tiny.onnx'), model);
    await writeFile(join(dir, 'tiny.json'), manifestJson);
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('file, URL and bytes agree on manifest, hashes and bytes; each names its locations', async () => {
    const fromFile = right(await resolveModel(join(dir, 'tiny.onnx'))());
    const fromUrl = right(await resolveFrom(urlSource(`${BASE}tiny.json`, { fetch: fakeFetch({ [`${BASE}tiny.json`]: manifestJson, [`${BASE}tiny.onnx`]: model }) })));
    const fromBytes = right(await resolveFrom(bytesSource({ manifest: manifestJson, files: { 'tiny.onnx': model }, name: 'tiny.json' })));
    const content = (m: ResolvedModel) => ({ manifest: m.manifest, manifestSha256: m.manifestSha256, modelBytes: m.modelBytes, weightFiles: m.weightFiles });
    expect(content(fromUrl)).toEqual(content(fromFile));
    expect(content(fromBytes)).toEqual(content(fromFile));
    expect(fromFile.manifestSha256).toBe(sha256Hex(encoder.encode(manifestJson)));
    // File-sourced metadata is what it always was: the manifest's absolute path, the model's real path.
    expect(fromFile.manifestPath).toBe(resolve(dir, 'tiny.json'));
    expect(fromFile.modelPath).toBe(await realpath(join(dir, 'tiny.onnx')));
    expect([fromUrl.manifestPath, fromUrl.modelPath]).toEqual([`${BASE}tiny.json`, `${BASE}tiny.onnx`]);
    expect([fromBytes.manifestPath, fromBytes.modelPath]).toEqual(['bytes:tiny.json', 'bytes:tiny.onnx']);
  });

  it('node and portable sha256 agree (the file source hashes natively)', () => {
    expect(fileSource(join(dir, 'tiny.onnx')).sha256Hex).toBe(nodeSha256Hex);
    for (const bytes of [new Uint8Array(0), model, encoder.encode(manifestJson)]) expect(sha256Hex(bytes)).toBe(nodeSha256Hex(bytes));
  });

  it('tfjs weight files are keyed relative to the model file, from every source', async () => {
    const graph = encoder.encode('{"modelTopology":{},"weightsManifest":[{"paths":["w.bin"],"weights":[]}]}');
    const weights = new Uint8Array([1, 2, 3, 4]);
    const manifest = JSON.stringify({
      ...tinyClassifierManifest('m/model.json', graph),
      format: 'tfjs-graph',
      weights: [{ file: 'm/w.bin', sha256: sha256Hex(weights), sizeBytes: 4 }],
    });
    await mkdir(join(dir, 'tf', 'm'), { recursive: true });
    await writeFile(join(dir, 'tf', 'm', 'model.json'), graph);
    await writeFile(join(dir, 'tf', 'm', 'w.bin'), weights);
    await writeFile(join(dir, 'tf', 'tf.json'), manifest);
    const files = { 'm/model.json': graph, 'm/w.bin': weights };
    const fetch = fakeFetch({ [`${BASE}tf.json`]: manifest, [`${BASE}m/model.json`]: graph, [`${BASE}m/w.bin`]: weights });
    for (const source of [fileSource(join(dir, 'tf', 'tf.json')), bytesSource({ manifest, files }), urlSource(`${BASE}tf.json`, { fetch })]) {
      const resolved = right(await resolveFrom(source));
      expect([...resolved.weightFiles.keys()]).toEqual(['w.bin']);
      expect(resolved.weightFiles.get('w.bin')).toEqual(weights);
    }
  });
});

describe('bytes source', () => {
  const source = (files: Record<string, Uint8Array>, manifest: string | Uint8Array = manifestJson) => bytesSource({ manifest, files });

  it('refuses a missing file, naming it and the files given', async () => {
    const err = left(await resolveFrom(source({ 'other.onnx': model })));
    expect(err.kind).toBe('file-not-found');
    expect(err.message).toContain("'tiny.onnx'");
    expect(err.message).toContain('other.onnx');
  });

  it('refuses names outside the manifest folder', async () => {
    for (const file of ['../tiny.onnx', '/tiny.onnx', 'a/../../tiny.onnx', 'C:/tiny.onnx', 'https://x/tiny.onnx', 'a\\tiny.onnx']) {
      const manifest = JSON.stringify({ ...tinyClassifierManifest(file, model) });
      const err = left(await resolveFrom(source({ [file]: model }, manifest)));
      expect(err.kind, file).toBe('manifest-invalid');
      expect(err.message).toContain('may only name files in its own folder');
    }
  });

  it('accepts equivalent spellings of a name (./a/b, a//b)', async () => {
    const manifest = JSON.stringify(tinyClassifierManifest('./m//tiny.onnx', model));
    expect(right(await resolveFrom(source({ 'm/tiny.onnx': model }, manifest))).modelPath).toBe('bytes:m/tiny.onnx');
  });

  it('checks size before hashing, then sha256', async () => {
    const size = left(await resolveFrom(source({ 'tiny.onnx': model.subarray(1) })));
    expect(size.kind).toBe('corrupt-model');
    expect(size.message).toContain(`${model.length - 1} bytes`);
    expect(size.message).not.toContain(sha256Hex(model.subarray(1)));
    const changed = model.slice();
    changed[10] = changed[10]! ^ 1;
    const sha = left(await resolveFrom(source({ 'tiny.onnx': changed })));
    expect(sha.kind).toBe('corrupt-model');
    expect(sha.message).toContain('sha256 is');
  });

  it('refuses invalid JSON, invalid manifests and oversized manifests', async () => {
    expect(left(await resolveFrom(source({}, '{not json'))).message).toContain('not valid JSON');
    expect(left(await resolveFrom(source({}, JSON.stringify({ kind: 'classifier' })))).kind).toBe('manifest-invalid');
    const huge = left(await resolveFrom(source({}, new Uint8Array(MAX_MANIFEST_BYTES + 1))));
    expect(huge.kind).toBe('manifest-invalid');
    expect(huge.message).toContain(`at most ${MAX_MANIFEST_BYTES}`);
  });

  it('keeps its own copy of what it verified (a node Buffer too)', async () => {
    const mine = Buffer.from(model);
    const resolved = right(await resolveFrom(source({ 'tiny.onnx': mine })));
    mine.fill(0);
    expect(resolved.modelBytes).toEqual(model);
  });
});

describe('URL source (a fake fetch: nothing leaves the machine)', () => {
  const files = { [`${BASE}tiny.json`]: manifestJson, [`${BASE}tiny.onnx`]: model };

  it('a missing manifest or file is file-not-found; other statuses and thrown fetches are corrupt-model', async () => {
    expect(left(await resolveFrom(urlSource(`${BASE}nope.json`, { fetch: fakeFetch(files) }))).kind).toBe('file-not-found');
    expect(left(await resolveFrom(urlSource(`${BASE}tiny.json`, { fetch: fakeFetch({ [`${BASE}tiny.json`]: manifestJson }) }))).kind).toBe('file-not-found');
    const failing: Fetch = async () => new Response('', { status: 503, statusText: 'Service Unavailable' });
    const unavailable = left(await resolveFrom(urlSource(`${BASE}tiny.json`, { fetch: failing })));
    expect(unavailable.kind).toBe('corrupt-model');
    expect(unavailable.message).toContain('503 Service Unavailable');
    const throwing: Fetch = async () => {
      throw new Error('getaddrinfo ENOTFOUND');
    };
    expect(left(await resolveFrom(urlSource(`${BASE}tiny.json`, { fetch: throwing }))).message).toContain('ENOTFOUND');
  });

  it('refuses names that leave the base folder or origin, without fetching them', async () => {
    for (const file of ['../tiny.onnx', '/zoo/tiny.onnx', 'https://evil.example/zoo/tiny.onnx', '//evil.example/tiny.onnx', '%2e%2e/tiny.onnx', 'a/%2E%2E/%2e%2e/tiny.onnx']) {
      const manifest = JSON.stringify(tinyClassifierManifest(file, model));
      const fetch = fakeFetch({ [`${BASE}tiny.json`]: manifest });
      const err = left(await resolveFrom(urlSource(`${BASE}tiny.json`, { fetch })));
      expect(err.kind, file).toBe('manifest-invalid');
      expect(err.message).toContain('may only name files in its own folder');
      expect(fetch.asked).toEqual([`${BASE}tiny.json`]);
    }
  });

  it('refuses a file larger than maxBytes without fetching it', async () => {
    const fetch = fakeFetch(files);
    const err = left(await resolveFrom(urlSource(`${BASE}tiny.json`, { fetch, maxBytes: model.length - 1 })));
    expect(err.kind).toBe('corrupt-model');
    expect(err.message).toContain('maxBytes');
    expect(fetch.asked).toEqual([`${BASE}tiny.json`]);
  });

  it('refuses a Content-Length other than sizeBytes before reading the body', async () => {
    let pulled = 0;
    const fetch: Fetch = async (url) =>
      url.endsWith('.json')
        ? new Response(manifestJson)
        : new Response(new ReadableStream({ pull: (c) => void (pulled++, c.enqueue(new Uint8Array(8))) }), { headers: { 'content-length': String(model.length + 5) } });
    const err = left(await resolveFrom(urlSource(`${BASE}tiny.json`, { fetch })));
    expect(err.kind).toBe('corrupt-model');
    expect(err.message).toContain(`${model.length + 5} bytes`);
    expect(pulled).toBeLessThanOrEqual(1);
  });

  it('cuts off a body that runs past sizeBytes (no Content-Length), and one that is short', async () => {
    let sent = 0;
    const endless = (): Response => new Response(new ReadableStream({ pull: (c) => void ((sent += 64), c.enqueue(new Uint8Array(64))) }));
    const fetch: Fetch = async (url) => (url.endsWith('.json') ? new Response(manifestJson) : endless());
    const err = left(await resolveFrom(urlSource(`${BASE}tiny.json`, { fetch })));
    expect(err.kind).toBe('corrupt-model');
    expect(err.message).toContain(`more than ${model.length} bytes`);
    expect(sent).toBeLessThan(model.length + 64 * 4);
    const short = left(await resolveFrom(urlSource(`${BASE}tiny.json`, { fetch: fakeFetch({ ...files, [`${BASE}tiny.onnx`]: model.subarray(3) }, { contentLength: false }) })));
    expect(short.message).toContain(`is ${model.length - 3} bytes`);
  });

  it('caps the manifest too: by Content-Length, and while streaming', async () => {
    const big = fakeFetch({ [`${BASE}tiny.json`]: new Uint8Array(MAX_MANIFEST_BYTES + 1) });
    expect(left(await resolveFrom(urlSource(`${BASE}tiny.json`, { fetch: big }))).message).toContain(`at most ${MAX_MANIFEST_BYTES}`);
    const unsized = fakeFetch({ [`${BASE}tiny.json`]: new Uint8Array(MAX_MANIFEST_BYTES + 1) }, { contentLength: false });
    expect(left(await resolveFrom(urlSource(`${BASE}tiny.json`, { fetch: unsized }))).message).toContain(`at most ${MAX_MANIFEST_BYTES}`);
  });

  it("takes the platform's fetch as it is", () => {
    expect(urlSource(`${BASE}tiny.json`, { fetch: globalThis.fetch }).manifestLocation).toBe(`${BASE}tiny.json`);
  });
});

describe('the loaders take a source as well as a path', () => {
  const loaded: Classifier[] = [];
  const echo: Backend = {
    name: 'echo-source',
    priority: 0,
    formats: ['onnx'],
    probe: async () => ({ available: true, runtime: 'echo', devices: ['cpu'], notes: [] }),
    loadDenoiser: () => TE.left({ kind: 'runtime-failure', message: 'not used' }),
    loadClassifier: (model) => {
      const c: Classifier = { metadata: classifierMetadata(model, 'echo-source', 'echo'), run: () => TE.left({ kind: 'runtime-failure', message: 'not used' }), dispose: async () => undefined };
      loaded.push(c);
      return TE.right(c);
    },
  };
  beforeAll(() => void registerBackend(echo));
  afterAll(() => void unregisterBackend('echo-source'));
  afterEach(() => void (loaded.length = 0));

  it('loadClassifier(source) resolves through the source; the backend comes from the options', async () => {
    const c = right(await loadClassifier(bytesSource({ manifest: manifestJson, files: { 'tiny.onnx': model }, name: 'tiny.json' }), { backend: 'echo-source' })());
    expect(c.metadata.manifestPath).toBe('bytes:tiny.json');
    expect(c.metadata.modelPath).toBe('bytes:tiny.onnx');
    expect(c.metadata.manifestSha256).toBe(sha256Hex(encoder.encode(manifestJson)));
    expect(c.metadata.output).toBe('logits');
  });

  it('the portable entry has no file system: a path is refused with what to pass instead', async () => {
    const err = left(await portableLoadClassifier('/models/tiny.onnx', { backend: 'echo-source' })());
    expect(err.kind).toBe('file-not-found');
    expect(err.message).toMatch(/urlSource.*bytesSource/);
    const c = right(await portableLoadClassifier(bytesSource({ manifest: manifestJson, files: { 'tiny.onnx': model } }), { backend: 'echo-source' })());
    expect(c.metadata.manifestPath).toBe('bytes:manifest.json');
  });

  it('a manifest on disk is byte-for-byte what manifestSha256 hashes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'densepure-sources-sha-'));
    try {
      await writeFile(join(dir, 'tiny.onnx'), model);
      await writeFile(join(dir, 'tiny.json'), manifestJson);
      const c = right(await loadClassifier(join(dir, 'tiny.json'), { backend: 'echo-source' })());
      expect(c.metadata.manifestSha256).toBe(nodeSha256Hex(await readFile(join(dir, 'tiny.json'))));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('manifest names', () => {
  it('relativeName normalises names below the folder and refuses the rest', () => {
    expect(relativeName('./a//b/./c.bin')).toEqual(E.right('a/b/c.bin'));
    expect(relativeName('a/../b.bin')).toEqual(E.right('b.bin'));
    for (const bad of ['../x', 'a/../../x', '/x', 'C:x', 'http://h/x', 'a\\b', '.', '']) expect(E.isLeft(relativeName(bad)), bad).toBe(true);
  });
  it('weightKey is the weight file relative to the model file folder (node posix semantics)', () => {
    expect(weightKey('/', 'm/model.json', 'm/w.bin')).toBe('w.bin');
    expect(weightKey('/', 'model.json', 'shards/w.bin')).toBe('shards/w.bin');
    expect(weightKey('/', 'm/model.json', 'w.bin')).toBe('../w.bin');
    expect(weightKey('/data/zoo', 'm/model.json', '/data/zoo/m/w.bin')).toBe('w.bin');
  });
});
