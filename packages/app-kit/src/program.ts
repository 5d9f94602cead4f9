// How an app's commands end. Each command action returns an Outcome (never throws an expected failure); the
// app's main turns the last one into an exit code and prints the failure once.
import { either as E } from 'fp-ts';
import { type Failure, type Outcome, reportFailure, unexpectedFailure } from './failure.js';

/** Records what the action that ran returned (argument parsers such as commander call actions and return nothing). */
export interface OutcomeRecorder {
  /** Wraps a command action so its Outcome is kept. */
  action<A extends unknown[]>(run: (...args: A) => Promise<Outcome>): (...args: A) => Promise<void>;
  /** What the action that ran returned (Right when none ran: help, version). */
  readonly outcome: Outcome;
}

export function outcomeRecorder(): OutcomeRecorder {
  let outcome: Outcome = E.right(undefined);
  return {
    action:
      (run) =>
      async (...args) => {
        outcome = await run(...args);
      },
    get outcome() {
      return outcome;
    },
  };
}

/**
 * The exit code of one command: 0 when `run` succeeds, the failure's code (after printing it) when it returns a
 * Left; `printed` maps what the argument parser threw and has already printed (help, usage errors) to its code;
 * anything else thrown is a programmer error, reported as exit 1.
 */
export async function exitCodeOf(run: () => Promise<Outcome>, printed: (error: unknown) => number | undefined = () => undefined, write?: (text: string) => void): Promise<number> {
  let outcome: Outcome;
  try {
    outcome = await run();
  } catch (error) {
    return printed(error) ?? reportFailure(unexpectedFailure(error), write);
  }
  return E.isLeft(outcome) ? reportFailure(outcome.left, write) : 0;
}

/** An Either whose Left is already a Failure, as an Outcome once its Right is used. */
export const toOutcome = <A>(result: E.Either<Failure, A>, use: (a: A) => void = () => undefined): Outcome => (E.isLeft(result) ? result : E.right(use(result.right)));
