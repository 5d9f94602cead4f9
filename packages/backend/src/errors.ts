/**
 * Every way loading or running a model can fail, as one tagged union. Backends return these inside
 * fp-ts Either / TaskEither; the apps turn them into a message and a non-zero exit.
 */
export type BackendError =
  | { readonly kind: 'file-not-found'; readonly path: string; readonly message: string }
  | { readonly kind: 'manifest-invalid'; readonly path: string; readonly message: string }
  | { readonly kind: 'corrupt-model'; readonly path: string; readonly message: string }
  | { readonly kind: 'model-contract'; readonly path: string; readonly message: string }
  | {
      readonly kind: 'shape-mismatch';
      readonly tensor: string;
      readonly expected: string;
      readonly actual: string;
      readonly message: string;
    }
  | { readonly kind: 'non-finite-input'; readonly tensor: string; readonly index: number; readonly message: string }
  | { readonly kind: 'unknown-backend'; readonly backend: string; readonly message: string }
  | { readonly kind: 'backend-name-taken'; readonly backend: string; readonly message: string }
  | { readonly kind: 'backend-unavailable'; readonly backend: string; readonly message: string }
  | { readonly kind: 'runtime-failure'; readonly message: string }
  | { readonly kind: 'no-probabilities'; readonly path: string; readonly message: string }
  | { readonly kind: 'disposed'; readonly message: string }
  | { readonly kind: 'no-backend'; readonly attempts: readonly BackendAttempt[]; readonly message: string };

/** One backend's reason for not loading a model, kept so the final error can list all of them. */
export interface BackendAttempt {
  readonly backend: string;
  readonly error: BackendError;
}

export type BackendErrorKind = BackendError['kind'];

export const fileNotFound = (path: string, what = 'model file'): BackendError => ({
  kind: 'file-not-found',
  path,
  message: `${what} not found: ${path} (check the path, or run from the repository root)`,
});

export const manifestInvalid = (path: string, detail: string): BackendError => ({
  kind: 'manifest-invalid',
  path,
  message: `invalid model manifest ${path}: ${detail}`,
});

export const corruptModel = (path: string, detail: string): BackendError => ({
  kind: 'corrupt-model',
  path,
  message: `corrupt or unreadable model ${path}: ${detail}`,
});

export const modelContract = (path: string, detail: string): BackendError => ({
  kind: 'model-contract',
  path,
  message: `model ${path} does not match its manifest: ${detail}`,
});

export const shapeMismatch = (tensor: string, expected: string, actual: string, hint = ''): BackendError => ({
  kind: 'shape-mismatch',
  tensor,
  expected,
  actual,
  message: `tensor '${tensor}': expected ${expected}, got ${actual}${hint ? ` (${hint})` : ''}`,
});

export const nonFiniteInput = (tensor: string, index: number, value: number): BackendError => ({
  kind: 'non-finite-input',
  tensor,
  index,
  message: `tensor '${tensor}' holds ${value} at flat index ${index}: inputs must be finite numbers (check the image data)`,
});

export const runtimeFailure = (detail: string): BackendError => ({ kind: 'runtime-failure', message: detail });

export const disposed = (what: string): BackendError => ({
  kind: 'disposed',
  message: `${what} was disposed: load the model again before running it`,
});

/** A multi-line, human-readable rendering; 'no-backend' lists every backend's own reason. */
export function formatBackendError(error: BackendError): string {
  if (error.kind !== 'no-backend') return error.message;
  const lines = error.attempts.map((a) => `  - ${a.backend}: ${formatBackendError(a.error).replace(/\n/g, '\n    ')}`);
  return [error.message, ...lines].join('\n');
}

/** Turns whatever a runtime threw into a message string. */
export const describeThrown = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause));
