// How the apps end: every expected failure becomes a Failure (a message and an exit code: 2 for input the user
// must change, 1 for files, models or the machine), printed once as `error: <message>`.
import { either as E } from 'fp-ts';
import type { QueueError } from '@densepure/queue';
import { type RunError, type Setting, isSpecError, runErrorMessage } from '@densepure/runner';
import { SIGNAL_EXIT_CODES, type StopSignal } from './signals.js';

export interface Failure {
  readonly kind: 'failure';
  readonly message: string;
  /** 2: input to change; 1: files, models or the machine; 129/130/143: stopped by SIGHUP/SIGINT/SIGTERM. */
  readonly exitCode: 1 | 2 | 129 | 130 | 143;
}

/** Input the user must change (flags, an experiment file): exit 2. */
export const usageFailure = (message: string): Failure => ({ kind: 'failure', message, exitCode: 2 });

/** Files, models or the machine: exit 1. */
export const runtimeFailure = (message: string): Failure => ({ kind: 'failure', message, exitCode: 1 });

/** Stopped by a signal (Ctrl-C, kill): the shell's code for it, and what was kept and how to go on. */
export const interruptedFailure = (message: string, signal: StopSignal): Failure => ({ kind: 'failure', message, exitCode: SIGNAL_EXIT_CODES[signal] });

/** A run error with its settings spelled the app's way (`--N0` on the command line, `certify.N0` in a file). */
export const runFailure = (error: RunError, name?: (setting: Setting) => string): Failure => ({
  kind: 'failure',
  message: runErrorMessage(error, name),
  exitCode: isSpecError(error) ? 2 : 1,
});

/** A bad address or a setting the queue cannot honour is the user's to fix (exit 2); anything else exits 1. */
export const queueFailure = (error: QueueError): Failure => ({
  kind: 'failure',
  message: error.message,
  exitCode: error.kind === 'queue-url-invalid' || error.kind === 'queue-bad-setting' ? 2 : 1,
});

// Every queue error's kind starts with `queue-` and no run error's does (checked here at compile time), so a run's
// error is told apart without loading the queue package (BullMQ) into runs that use none.
const queueKindsArePrefixed: QueueError['kind'] extends `queue-${string}` ? true : never = true;
const runKindsAreNot: Extract<RunError['kind'], `queue-${string}`> extends never ? true : never = true;
void [queueKindsArePrefixed, runKindsAreNot];

/** A run's error, whether it came from the run itself or from the queue that scheduled it. */
export const failureOf = (error: RunError | QueueError, name?: (setting: Setting) => string): Failure =>
  error.kind.startsWith('queue-') ? queueFailure(error as QueueError) : runFailure(error as RunError, name);

/** What a command's action returns: nothing to add, or the failure that ends it. */
export type Outcome = E.Either<Failure, void>;

/** Something thrown that is no expected failure (a programmer error): its message, its stack with DENSEPURE_DEBUG. */
export const unexpectedFailure = (error: unknown): Failure =>
  runtimeFailure(error instanceof Error ? (process.env.DENSEPURE_DEBUG ? (error.stack ?? error.message) : error.message) : String(error));

/** Prints `error: <message>` (`interrupted: <message>` for a signal) and returns the exit code. */
export function reportFailure(failure: Failure, write: (text: string) => void = (t) => void process.stderr.write(t)): Failure['exitCode'] {
  write(`${failure.exitCode > 128 ? 'interrupted' : 'error'}: ${failure.message}\n`);
  return failure.exitCode;
}
