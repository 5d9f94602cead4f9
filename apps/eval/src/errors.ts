// Every error densepure-eval can return, and the one place that turns them into messages and exit codes.
import { type Failure, failureOf, runtimeFailure, usageFailure } from '@densepure/app-kit';
import type { QueueError } from '@densepure/queue';
import type { RunError, Setting } from '@densepure/runner';
import type { ExperimentError } from './experiment.js';

export type EvalError =
  | RunError
  | ExperimentError
  | { readonly kind: 'no-matching-cells'; readonly filter: string; readonly experiment: string; readonly example: string; readonly message: string }
  | { readonly kind: 'unknown-grid-backends'; readonly problems: readonly string[]; readonly message: string }
  | { readonly kind: 'empty-slice'; readonly message: string }
  | { readonly kind: 'grid-changed'; readonly dir: string; readonly problems: readonly RunError[]; readonly message: string };

/** Where an experiment file sets what the runner calls a setting. */
const EXPERIMENT_KEYS: Record<Setting, string> = {
  sigma: 'sigmas',
  N0: 'certify.N0',
  N: 'certify.N',
  alpha: 'certify.alpha',
  batch: 'batch',
  skip: 'dataset.skip',
  max: 'dataset.max',
  K: 'methods[].K',
  seed: 'seed',
  workers: 'workers',
  threads: 'threads',
  out: '--results folder',
  backend: 'backends',
  radii: 'certify.sequential.radii',
  maxRadius: 'certify.sequential.maxRadius',
  group: 'certify.sequential.group',
  sigmas: 'certify.cascade.sigmas',
  p0: 'certify.cascade.p0',
  selection: 'certify.sequential.selection',
  futility: 'certify.sequential.futility',
};

/** A cell whose files cannot be continued, said the way a grid's user fixes it. */
const gridProblem = (e: RunError): string =>
  e.kind === 'identity-mismatch'
    ? `${e.message}; use another experiment name or --results folder, or move it away`
    : e.kind === 'not-a-run'
      ? `${e.path} exists but has no sidecar ${e.sidecar}: not a densepure run; move it away`
      : e.message;

/** A grid's error as the app ends with it; a queued grid may also end with the queue's error. */
export function describeEvalError(error: EvalError | QueueError): Failure {
  switch (error.kind) {
    case 'invalid-experiment':
    case 'unknown-grid-backends':
    case 'empty-slice':
      return usageFailure(error.message);
    case 'experiment-unreadable':
      return runtimeFailure(error.message);
    case 'no-matching-cells':
      return usageFailure(`--cells '${error.filter}' matches no cell of ${error.experiment}; ids look like ${error.example}`);
    case 'grid-changed':
      return runtimeFailure(`cannot continue the grid in ${error.dir}:\n  ${error.problems.map(gridProblem).join('\n  ')}`);
    default:
      return failureOf(error, (s) => EXPERIMENT_KEYS[s]);
  }
}
