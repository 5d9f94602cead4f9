// The runner's errors: one tagged union, returned through Either/TaskEither. Messages never name a CLI flag; a
// setting is named by its key (`sigma`, `N0`, `batch`, ...) and `describeRunError` lets each app say how its
// users spell it (`--sigma` on the command line, `certify.N0` in an experiment file).
import { either as E } from 'fp-ts';
import { type BackendError, formatBackendError } from '@densepure/backend';
import type { DatasetError } from '@densepure/datasets';
import type { ConfigError } from '@densepure/voting';
import type { MethodSlugError } from './method.js';

/** A setting of a run spec, as the apps' users can name it. */
export type Setting = 'sigma' | 'N0' | 'N' | 'alpha' | 'batch' | 'skip' | 'max' | 'K' | 'seed' | 'workers' | 'threads' | 'out' | 'backend';

export interface IdentityDifference {
  readonly key: string;
  readonly before: unknown;
  readonly after: unknown;
}

export type RunError =
  | { readonly kind: 'invalid-setting'; readonly setting: Setting; readonly requirement: string; readonly value: unknown; readonly message: string }
  | { readonly kind: 'n0-exceeds-n'; readonly n0: number; readonly n: number; readonly message: string }
  | { readonly kind: 'no-runs'; readonly message: string }
  | { readonly kind: 'same-output'; readonly path: string; readonly message: string }
  | { readonly kind: 'unknown-backend'; readonly name: string; readonly registered: readonly string[]; readonly message: string }
  | { readonly kind: 'output-not-writable'; readonly path: string; readonly cause: string; readonly message: string }
  | { readonly kind: 'output-locked'; readonly path: string; readonly lock: string; readonly owner?: { readonly pid: number; readonly hostname: string; readonly startedAt: string }; readonly message: string }
  | { readonly kind: 'not-a-run'; readonly path: string; readonly sidecar: string; readonly message: string }
  | { readonly kind: 'bad-sidecar'; readonly path: string; readonly sidecar: string; readonly message: string }
  | { readonly kind: 'identity-mismatch'; readonly path: string; readonly differences: readonly IdentityDifference[]; readonly message: string }
  | { readonly kind: 'tsv-format'; readonly path: string; readonly line?: number; readonly message: string }
  | { readonly kind: 'io'; readonly path: string; readonly message: string }
  | { readonly kind: 'dataset'; readonly error: DatasetError; readonly message: string }
  | { readonly kind: 'model-load'; readonly role: 'denoiser' | 'classifier'; readonly error: BackendError; readonly message: string }
  | { readonly kind: 'class-mismatch'; readonly classifierClasses: number; readonly datasetClasses: number; readonly message: string }
  | { readonly kind: 'method-config'; readonly error: ConfigError; readonly message: string }
  | { readonly kind: 'model-run'; readonly error: BackendError; readonly message: string }
  | MethodSlugError;

export const invalidSetting = (setting: Setting, requirement: string, value: unknown): RunError => ({
  kind: 'invalid-setting',
  setting,
  requirement,
  value,
  message: `${setting} ${requirement}, got ${String(value)}`,
});

export const ioError = (path: string, what: string, cause: unknown): RunError => ({
  kind: 'io',
  path,
  message: `${what} ${path}: ${cause instanceof Error ? cause.message : String(cause)}`,
});

export const modelRunError = (error: BackendError): RunError => ({ kind: 'model-run', error, message: `model run: ${formatBackendError(error)}` });

export const formatDifferences = (differences: readonly IdentityDifference[]): string =>
  differences.map((d) => `${d.key}: ${JSON.stringify(d.before)} -> ${JSON.stringify(d.after)}`).join(', ');

/** What an app prints (`error: <message>`) and the exit code it returns: 2 for input the user must change, 1 otherwise. */
export interface Failure {
  readonly kind: 'failure';
  readonly message: string;
  readonly exitCode: 1 | 2;
}

export const isFailure = (x: unknown): x is Failure => typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'failure';

/** Errors that a different spec (flags, experiment file) fixes; everything else is a failure of files or models. */
const USAGE_KINDS: ReadonlySet<RunError['kind']> = new Set(['invalid-setting', 'n0-exceeds-n', 'no-runs', 'same-output', 'unknown-backend', 'method-config', 'unknown-method-slug']);

/**
 * The message and exit code of a run error. `name` spells a setting the way the app's user writes it
 * (default: the setting's key), so the same error reads `--N0 (500) must not exceed --N (100)` on the command line.
 */
export function describeRunError(error: RunError, name: (setting: Setting) => string = (s) => s): Failure {
  const exitCode = USAGE_KINDS.has(error.kind) ? 2 : 1;
  const failure = (message: string): Failure => ({ kind: 'failure', message, exitCode });
  switch (error.kind) {
    case 'invalid-setting':
      return failure(`${name(error.setting)} ${error.requirement}, got ${String(error.value)}`);
    case 'n0-exceeds-n':
      return failure(`${name('N0')} (${error.n0}) must not exceed ${name('N')} (${error.n}): N0 draws only pick the class, N draws certify it`);
    case 'same-output':
      return failure(`two runs of one shared session write the same file ${error.path}; give each its own ${name('out')}`);
    case 'unknown-backend':
      return failure(`unknown ${name('backend')} '${error.name}': registered backends are ${error.registered.join(', ')}`);
    case 'output-not-writable':
      return failure(`cannot write ${name('out')} ${error.path}: ${error.cause}; choose a writable path`);
    case 'not-a-run':
      return failure(`${error.path} exists but has no sidecar ${error.sidecar}: it is not a densepure run to resume; pick another ${name('out')} or move the file`);
    case 'identity-mismatch':
      return failure(`refusing to resume ${error.path}: it was written with a different configuration (${formatDifferences(error.differences)}); use another ${name('out')}`);
    default:
      return failure(error.message);
  }
}

/** An error value of unknown origin (a programmer error, a thrown library error) as a Failure; stack with DENSEPURE_DEBUG. */
export const unexpectedFailure = (error: unknown): Failure => ({
  kind: 'failure',
  exitCode: 1,
  message: error instanceof Error ? (process.env.DENSEPURE_DEBUG ? (error.stack ?? error.message) : error.message) : String(error),
});

/**
 * The end of an app's command: prints `error: <message>` for a Failure (or anything else thrown) and returns the
 * exit code. Apps throw Failures out of their command actions to reach this; libraries never throw them.
 */
export function reportFailure(error: unknown, write: (text: string) => void = (t) => void process.stderr.write(t)): 1 | 2 {
  const failure = isFailure(error) ? error : unexpectedFailure(error);
  write(`error: ${failure.message}\n`);
  return failure.exitCode;
}

/** The Right of an Either, or the Failure its Left describes, thrown to the app's `reportFailure`. */
export function orFail<A>(result: E.Either<RunError, A>, name?: (setting: Setting) => string): A {
  if (E.isLeft(result)) throw describeRunError(result.left, name);
  return result.right;
}

/**
 * An app's exit code for one command: 0 when `run` returns, else the code of what it threw — `printed` maps what
 * the app's argument parser has already printed (help, version, usage errors) to its code, and everything else
 * goes through `reportFailure`.
 */
export async function exitCodeOf(run: () => Promise<unknown>, printed: (error: unknown) => number | undefined = () => undefined): Promise<number> {
  try {
    await run();
    return 0;
  } catch (error) {
    return printed(error) ?? reportFailure(error);
  }
}
