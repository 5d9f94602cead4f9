import type { ScheduleError, VarianceKind } from '@densepure/core';

/** A setting of a base classifier or method group, named as the user knows it (never as a CLI flag). */
export type Setting = 'sigma' | 'seed' | 'batch size' | 'concurrency' | 'K' | 'm' | 'sigmaL';

/** Why a base classifier or method group cannot be built; `message` says what to change. */
export type ConfigError =
  | { readonly kind: 'invalid-setting'; readonly setting: Setting; readonly value: number; readonly message: string }
  | { readonly kind: 'no-methods'; readonly message: string }
  | { readonly kind: 'needs-denoiser'; readonly method: string; readonly message: string }
  /** A method aggregates class probabilities but the classifier gives none (its manifest says output 'scores'). */
  | { readonly kind: 'needs-probabilities'; readonly method: string; readonly classifier: string; readonly message: string }
  | { readonly kind: 'shape-mismatch'; readonly denoiserShape: readonly number[]; readonly datasetShape: readonly number[]; readonly message: string }
  | { readonly kind: 'variance-unsupported'; readonly variance: VarianceKind; readonly message: string }
  /** The diffusion schedule cannot serve the request: sigma beyond its end, steps it cannot space. */
  | { readonly kind: 'schedule'; readonly code: ScheduleError['kind']; readonly message: string }
  | { readonly kind: 'chain-start'; readonly chain: string; readonly message: string };

export const invalidSetting = (setting: Setting, value: number, requirement: string): ConfigError => ({
  kind: 'invalid-setting',
  setting,
  value,
  message: `${setting} must be ${requirement}, got ${value}`,
});

/** A schedule that cannot serve the plan (sigma beyond its end, steps it cannot space) as a ConfigError. */
export const scheduleError = (e: ScheduleError): ConfigError => ({ kind: 'schedule', code: e.kind, message: e.message });
