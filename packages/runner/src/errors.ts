// The runner's errors: one tagged union, returned through Either/TaskEither. Messages never name a CLI flag; a
// setting is named by its key (`sigma`, `N0`, `batch`, ...) and `runErrorMessage` lets each app say how its
// users spell it (`--sigma` on the command line, `certify.N0` in an experiment file).
import { type BackendError, formatBackendError } from '@densepure/backend';
import type { DatasetError } from '@densepure/datasets';
import type { CascadeRadiiError, CascadeSettingsError, SequentialOptionsError } from '@densepure/core';
import type { ConfigError } from '@densepure/voting';
import type { MethodSlugError } from './method.js';

/** A setting of a run spec, as the apps' users can name it. */
export type Setting = 'sigma' | 'N0' | 'N' | 'alpha' | 'batch' | 'skip' | 'max' | 'K' | 'seed' | 'workers' | 'threads' | 'out' | 'backend' | 'radii' | 'maxRadius' | 'group' | 'sigmas' | 'p0' | 'selection' | 'futility';

export interface IdentityDifference {
  readonly key: string;
  readonly before: unknown;
  readonly after: unknown;
}

export type RunError =
  | { readonly kind: 'invalid-setting'; readonly setting: Setting; readonly requirement: string; readonly value: unknown; readonly message: string }
  /**
   * A sequential-mode setting (radii, or a radius the cap N cannot reach): core's tagged error, and the setting
   * it is about (`radii` unless said otherwise: `maxRadius` when the largest radius asked for is out of reach).
   */
  | { readonly kind: 'sequential-setting'; readonly error: SequentialOptionsError; readonly setting?: 'radii' | 'maxRadius'; readonly message: string }
  /** A cascade setting (its sigmas, p0, or a sequential cascade's radii): core's tagged error. */
  | { readonly kind: 'cascade-setting'; readonly error: CascadeSettingsError | CascadeRadiiError; readonly message: string }
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

/** Errors that a different spec (flags, experiment file) fixes; everything else is a failure of files or models. */
const SPEC_KINDS: ReadonlySet<RunError['kind']> = new Set(['invalid-setting', 'n0-exceeds-n', 'no-runs', 'same-output', 'unknown-backend', 'method-config', 'unknown-method-slug', 'sequential-setting', 'cascade-setting']);

/** Whether the user fixes this error by changing the run's settings (rather than files, models or the machine). */
export const isSpecError = (error: RunError): boolean => SPEC_KINDS.has(error.kind);

/**
 * The message of a run error. `name` spells a setting the way the app's user writes it (default: the setting's
 * key), so the same error reads `--N0 (500) must not exceed --N (100)` on the command line.
 */
export function runErrorMessage(error: RunError, name: (setting: Setting) => string = (s) => s): string {
  switch (error.kind) {
    case 'invalid-setting':
      return `${name(error.setting)} ${error.requirement}, got ${String(error.value)}`;
    case 'n0-exceeds-n':
      return `${name('N0')} (${error.n0}) must not exceed ${name('N')} (${error.n}): N0 draws only pick the class, N draws certify it`;
    case 'same-output':
      return `two runs of one shared session write the same file ${error.path}; give each its own ${name('out')}`;
    case 'unknown-backend':
      return `unknown ${name('backend')} '${error.name}': registered backends are ${error.registered.join(', ')}`;
    case 'output-not-writable':
      return `cannot write ${name('out')} ${error.path}: ${error.cause}; choose a writable path`;
    case 'not-a-run':
      return `${error.path} exists but has no sidecar ${error.sidecar}: it is not a densepure run to resume; pick another ${name('out')} or move the file`;
    case 'identity-mismatch':
      return `refusing to resume ${error.path}: it was written with a different configuration (${formatDifferences(error.differences)}); use another ${name('out')}`;
    case 'sequential-setting':
      return describeSequentialError(error.error, name, error.setting ?? 'radii');
    case 'cascade-setting':
      return `${name(cascadeSettingOf(error.error))}: ${error.error.message}`;
    default:
      return error.message;
  }
}

/** Core's sequential-option errors, with the settings spelled the app's way. */
function describeSequentialError(error: SequentialOptionsError, name: (setting: Setting) => string, setting: 'radii' | 'maxRadius'): string {
  const smaller = setting === 'radii' ? `smaller ${name('radii')}` : `a smaller ${name('maxRadius')}`;
  switch (error.kind) {
    case 'radius-unreachable': {
      const need =
        error.neededNMax === null
          ? `no number of draws can certify radius ${error.largestRadius} at sigma ${error.sigma}; ask for ${smaller}`
          : `certifying radius ${error.largestRadius} needs ${name('N')} >= ${error.neededNMax}, or ask for ${smaller}`;
      return `${name(setting)}: radius ${error.radius} cannot be certified at sigma ${error.sigma} and alpha ${error.alpha} with ${name('N')} = ${error.nMax} estimation draws, even if every draw votes for the top class; ${need}`;
    }
    case 'radii-empty':
    case 'radius-not-positive':
    case 'radii-not-increasing':
      return `${name(setting)}: ${error.message}`;
    case 'alpha-out-of-range':
      return error.option === 'futilityAlpha' ? `${name('futility')}: ${error.message}` : error.message;
    default:
      return error.message;
  }
}

/** The setting a cascade error is about. */
function cascadeSettingOf(error: CascadeSettingsError | CascadeRadiiError): Setting {
  switch (error.kind) {
    case 'p0-out-of-range':
    case 'p0-below-half':
      return 'p0';
    case 'alpha-out-of-range':
      return 'alpha';
    case 'radii-empty':
    case 'radius-not-positive':
    case 'radii-not-increasing':
      return 'radii';
    default:
      return 'sigmas';
  }
}
