// A small typed client for `densepure serve` (fetch only: node 18+, browsers, workers). Failures come back as
// values: the server's `{ error }` with its status, or why the server could not be reached.
import { either as E } from 'fp-ts';
import type { CertificateParameters, CertifyParameters, ErrorResponse, InferRequest, InferResponse } from './protocol.js';

export type { CertificateParameters, CertifyParameters, ErrorResponse, InferRequest, InferResponse, InferOutput, InferInput, ParameterValue } from './protocol.js';

export interface ClientOptions {
  /** e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly token?: string;
  readonly fetch?: typeof fetch;
}

/** The server said no (`status`, its `{ error }` text and Retry-After seconds for 429/503), or could not be reached (`status` 0). */
export interface ClientError {
  readonly status: number;
  readonly error: string;
  readonly retryAfter?: number;
}

export type Result<T> = E.Either<ClientError, T>;

export interface CertifyInput {
  /** Pixels in [0, 1], row-major (C, H, W). */
  readonly image: Float32Array | readonly number[];
  /** [C, H, W] of the model (see `metadata`). */
  readonly shape: readonly [number, number, number];
  readonly parameters?: CertifyParameters;
  readonly id?: string;
}

export interface DensepureClient {
  live(): Promise<boolean>;
  ready(): Promise<boolean>;
  /** Inputs, outputs, methods, defaults and caps of a model. */
  metadata(model: string): Promise<Result<Record<string, unknown>>>;
  /** The raw protocol call. */
  infer(model: string, request: InferRequest): Promise<Result<InferResponse>>;
  /** One image's certificate (or PREDICT answer when no radius is asked). */
  certify(model: string, input: CertifyInput): Promise<Result<CertificateParameters>>;
}

export function createClient(options: ClientOptions): DensepureClient {
  const base = options.url.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const headers = { 'content-type': 'application/json', ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }) };
  const call = async <T>(path: string, init?: { method: string; body: string }): Promise<Result<T>> => {
    let response: Response;
    try {
      response = await doFetch(`${base}${path}`, { headers, ...init });
    } catch (cause) {
      return E.left({ status: 0, error: `cannot reach ${base}: ${cause instanceof Error ? cause.message : String(cause)}` });
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (response.ok && body !== undefined) return E.right(body as T);
    const retry = Number(response.headers.get('retry-after'));
    const message = (body as ErrorResponse | undefined)?.error ?? (text.slice(0, 200) || response.statusText);
    return E.left({ status: response.status, error: message, ...(Number.isFinite(retry) && retry > 0 ? { retryAfter: retry } : {}) });
  };
  const health = async (path: string): Promise<boolean> => E.isRight(await call(path));
  const model = (name: string): string => `/v2/models/${encodeURIComponent(name)}`;
  const infer = (name: string, request: InferRequest) => call<InferResponse>(`${model(name)}/infer`, { method: 'POST', body: JSON.stringify(request) });
  return {
    live: () => health('/v2/health/live'),
    ready: () => health('/v2/health/ready'),
    metadata: (name) => call(model(name)),
    infer,
    certify: async (name, input) => {
      const parameters = Object.fromEntries(Object.entries(input.parameters ?? {}).filter(([, v]) => v !== undefined)) as InferRequest['parameters'];
      const answer = await infer(name, {
        ...(input.id === undefined ? {} : { id: input.id }),
        ...(parameters === undefined ? {} : { parameters }),
        inputs: [{ name: 'input', shape: [1, ...input.shape], datatype: 'FP32', data: Array.from(input.image) }],
      });
      return E.map((response: InferResponse) => response.parameters)(answer);
    },
  };
}
