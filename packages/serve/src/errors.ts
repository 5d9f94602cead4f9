// The server's expected failures: one tagged union, each kind one HTTP status. The message says what is wrong and
// what to do; it is sent as `{ error: message }`.

export type ServeError =
  /** The request itself: malformed, wrong tensor, a setting outside the caps. */
  | { readonly kind: 'bad-input'; readonly message: string }
  | { readonly kind: 'too-large'; readonly message: string }
  | { readonly kind: 'unauthorized'; readonly message: string }
  | { readonly kind: 'not-found'; readonly message: string }
  /** The queue is full: retry after `retryAfter` seconds. */
  | { readonly kind: 'busy'; readonly message: string; readonly retryAfter: number }
  /** Not ready yet (loading, warming up) or shutting down. */
  | { readonly kind: 'unavailable'; readonly message: string; readonly retryAfter?: number }
  /** The request's deadline passed before its certificate was done. */
  | { readonly kind: 'deadline'; readonly message: string }
  /** A model call failed (the server stays up). */
  | { readonly kind: 'model-failure'; readonly message: string };

export const badInput = (message: string): ServeError => ({ kind: 'bad-input', message });

export const STATUS: { readonly [K in ServeError['kind']]: 400 | 401 | 404 | 413 | 429 | 500 | 503 | 504 } = {
  'bad-input': 400,
  unauthorized: 401,
  'not-found': 404,
  'too-large': 413,
  busy: 429,
  'model-failure': 500,
  unavailable: 503,
  deadline: 504,
};
