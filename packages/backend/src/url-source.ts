// Models over HTTP(S), through a `fetch` the caller passes in (the platform's, or one with auth or a cache):
// the manifest at a URL and the files it names below that URL's folder. Every response is read with a cap:
// a file must be exactly the size its manifest records, refused on its Content-Length before the body is read,
// and cut off as soon as the body runs longer.
import { either as E } from 'fp-ts';
import { type BackendError, corruptModel, describeThrown } from './errors.js';
import { type ModelSource, manifestTooLarge, outsideFolder, relativeName, sizeMismatch } from './source.js';

/** The part of a fetch Response the URL source reads (the platform's Response has it). */
export interface FetchResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null };
  readonly body: ReadableStream<Uint8Array> | null;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** A fetch function: the platform's `fetch`, or any that returns a {@link FetchResponse}. */
export type Fetch = (url: string) => Promise<FetchResponse>;

export interface UrlSourceOptions {
  readonly fetch: Fetch;
  /** The largest file this source reads, in bytes (default 4 GiB): a manifest recording more is refused unread. */
  readonly maxBytes?: number;
}

export const DEFAULT_URL_MAX_BYTES = 4 * 1024 ** 3;

type Body = { readonly kind: 'bytes'; readonly bytes: Uint8Array } | { readonly kind: 'too-long'; readonly seen: number };

/** Reads a response body, giving up (and cancelling the stream) once it holds more than `cap` bytes. */
async function readCapped(response: FetchResponse, cap: number): Promise<Body> {
  if (response.body === null) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    return bytes.length > cap ? { kind: 'too-long', seen: bytes.length } : { kind: 'bytes', bytes };
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > cap) {
      await reader.cancel().catch(() => undefined);
      return { kind: 'too-long', seen: total };
    }
    chunks.push(value);
  }
  // One buffer of its own (callers may transfer `.buffer` whole).
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return { kind: 'bytes', bytes };
}

const declaredLength = (response: FetchResponse): number | null => {
  const text = response.headers.get('content-length');
  const n = text === null ? Number.NaN : Number(text);
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
};

/** Fetches `url`, mapping a failed request or an error status to the contract's errors. */
async function get(fetch: Fetch, url: string, what: string): Promise<E.Either<BackendError, FetchResponse>> {
  let response: FetchResponse;
  try {
    response = await fetch(url);
  } catch (cause) {
    return E.left(corruptModel(url, `cannot fetch the ${what}: ${describeThrown(cause)}`));
  }
  if (response.ok) return E.right(response);
  await response.body?.cancel().catch(() => undefined);
  if (response.status === 404 || response.status === 410) {
    return E.left({ kind: 'file-not-found', path: url, message: `${what} not found: ${url} (the server answered ${response.status}; check the URL)` });
  }
  return E.left(corruptModel(url, `cannot fetch the ${what}: the server answered ${response.status} ${response.statusText}`.trimEnd()));
}

/**
 * Models at a URL: `manifestUrl` is the manifest's (absolute) URL; the files it names resolve relative to it and
 * must stay below its folder, on the same origin. Metadata names the manifest and the model file by their URLs.
 */
export function urlSource(manifestUrl: string | URL, options: UrlSourceOptions): ModelSource {
  const manifest = new URL(manifestUrl);
  const manifestLocation = manifest.href;
  const folder = new URL('.', manifest);
  const maxBytes = options.maxBytes ?? DEFAULT_URL_MAX_BYTES;
  return {
    manifestLocation,
    readManifest: async (limit) => {
      const response = await get(options.fetch, manifestLocation, 'model manifest');
      if (E.isLeft(response)) return response;
      const declared = declaredLength(response.right);
      if (declared !== null && declared > limit) {
        await response.right.body?.cancel().catch(() => undefined);
        return E.left(manifestTooLarge(manifestLocation, declared, limit));
      }
      const body = await readCapped(response.right, limit);
      return body.kind === 'bytes' ? E.right(body.bytes) : E.left(manifestTooLarge(manifestLocation, body.seen, limit));
    },
    readFile: async (record, what) => {
      const name = relativeName(record.file);
      if (E.isLeft(name)) return E.left(outsideFolder(manifestLocation, what, record.file, name.left));
      // A second check on the URL itself: percent-encoded dots ('%2e%2e/') climb out once parsed.
      const url = new URL(name.right, folder);
      if (url.origin !== folder.origin || !url.pathname.startsWith(folder.pathname)) {
        return E.left(outsideFolder(manifestLocation, what, record.file, `resolves to ${url.href}, outside ${folder.href}`));
      }
      const location = url.href;
      if (record.sizeBytes > maxBytes) {
        return E.left(corruptModel(location, `the manifest ${manifestLocation} records ${record.sizeBytes} bytes for the ${what}, more than this URL source reads (maxBytes ${maxBytes}); raise maxBytes to load it`));
      }
      const response = await get(options.fetch, location, what);
      if (E.isLeft(response)) return response;
      const declared = declaredLength(response.right);
      if (declared !== null && declared !== record.sizeBytes) {
        await response.right.body?.cancel().catch(() => undefined);
        return E.left(sizeMismatch(location, what, declared, manifestLocation, record.sizeBytes));
      }
      const body = await readCapped(response.right, record.sizeBytes);
      if (body.kind === 'too-long') return E.left(sizeMismatch(location, what, `more than ${record.sizeBytes}`, manifestLocation, record.sizeBytes));
      return E.right({ location, bytes: body.bytes });
    },
  };
}
