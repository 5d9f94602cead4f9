// @densepure/app-kit: the composition root the apps share (see README.md). Libraries never import it.
export { type BackendNote, registerInstalledBackends } from './backends.js';
export { shippedCatalog, shippedZoos } from './catalog.js';
export { type Failure, type Outcome, failureOf, interruptedFailure, queueFailure, reportFailure, runFailure, runtimeFailure, unexpectedFailure, usageFailure } from './failure.js';
export { type OutcomeRecorder, exitCodeOf, outcomeRecorder, toOutcome } from './program.js';
export { SIGNAL_EXIT_CODES, type StopSignal, type Stopped, exitOnSignals, stopOnSignals } from './signals.js';
