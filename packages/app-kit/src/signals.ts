// Ctrl-C, kill and a closed terminal. By default they end the process with the shell's codes (the runner's exit
// hooks remove its output locks); a command that must end on its own terms (a queue coordinator gives back its
// lease, a worker hands back its job) takes the first signal instead, and a second one still ends the process.

export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

/** The shell's exit code for a process ended by `signal` (128 + its number). */
export const SIGNAL_EXIT_CODES: { readonly [S in StopSignal]: 130 | 143 | 129 } = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

let takeover: ((signal: StopSignal) => void) | null = null;
let installed = false;

/** Installs the handlers: a signal ends the process with its code, unless a command is stopping on it (stopOnSignals). */
export function exitOnSignals(): void {
  if (installed) return;
  installed = true;
  for (const signal of Object.keys(SIGNAL_EXIT_CODES) as StopSignal[]) {
    process.on(signal, () => (takeover === null ? process.exit(SIGNAL_EXIT_CODES[signal]) : takeover(signal)));
  }
}

/** What a command run under {@link stopOnSignals} returned, and the signal that stopped it (null: none came). */
export interface Stopped<T> {
  readonly result: T;
  readonly signal: StopSignal | null;
}

/**
 * Runs `run` so that the first signal aborts its AbortSignal (after `onFirst`, e.g. a line saying what happens
 * now) instead of ending the process; a second signal ends the process with its code at once.
 */
export async function stopOnSignals<T>(run: (stop: AbortSignal) => Promise<T>, onFirst: (signal: StopSignal) => void = () => undefined): Promise<Stopped<T>> {
  exitOnSignals();
  const controller = new AbortController();
  let received: StopSignal | null = null;
  const previous = takeover;
  takeover = (signal) => {
    if (received !== null) process.exit(SIGNAL_EXIT_CODES[signal]);
    received = signal;
    onFirst(signal);
    controller.abort();
  };
  try {
    return { result: await run(controller.signal), signal: received };
  } finally {
    takeover = previous;
  }
}
