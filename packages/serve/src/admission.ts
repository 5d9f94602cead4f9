// Back-pressure: at most `maxInFlight` certifications at once (their model calls are merged), at most `maxQueue`
// waiting for a slot; beyond that a request is turned away at once with a time to retry after.
import { either as E } from 'fp-ts';
import type { ServeError } from './errors.js';

export interface AdmissionLimits {
  readonly maxInFlight: number;
  readonly maxQueue: number;
}

interface Waiter {
  readonly admit: (result: E.Either<ServeError, () => void>) => void;
}

export class Admission {
  private inFlight = 0;
  private readonly waiting: Waiter[] = [];
  private closedWith: ServeError | null = null;
  /** Seconds a certification took, smoothed: what a retry-after estimate is made of. */
  private serviceSeconds = 1;

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly onChange: (queued: number, inFlight: number) => void = () => undefined,
  ) {}

  get queued(): number {
    return this.waiting.length;
  }

  get running(): number {
    return this.inFlight;
  }

  /** Seconds until a slot is likely free for a request arriving now. */
  retryAfter(): number {
    return Math.max(1, Math.ceil((this.serviceSeconds * (this.waiting.length + 1)) / this.limits.maxInFlight));
  }

  /** A slot (call the returned release once done), or why not: full queue, closed, or `signal` aborted while waiting. */
  acquire(signal: AbortSignal, aborted: () => ServeError): Promise<E.Either<ServeError, () => void>> {
    if (this.closedWith !== null) return Promise.resolve(E.left(this.closedWith));
    if (signal.aborted) return Promise.resolve(E.left(aborted()));
    if (this.inFlight < this.limits.maxInFlight) return Promise.resolve(E.right(this.take()));
    if (this.waiting.length >= this.limits.maxQueue) {
      const retryAfter = this.retryAfter();
      return Promise.resolve(
        E.left({ kind: 'busy', retryAfter, message: `the server is busy (${this.inFlight} requests being certified, ${this.waiting.length} waiting): retry after ${retryAfter} s` }),
      );
    }
    return new Promise((resolve) => {
      const waiter: Waiter = {
        admit: (result) => {
          signal.removeEventListener('abort', onAbort);
          resolve(result);
        },
      };
      const onAbort = (): void => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        this.changed();
        waiter.admit(E.left(aborted()));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
      this.changed();
    });
  }

  /** Turns away every waiting request and every later one with `error`; those in flight go on. */
  close(error: ServeError): void {
    this.closedWith = error;
    for (const waiter of this.waiting.splice(0)) waiter.admit(E.left(error));
    this.changed();
  }

  private take(): () => void {
    this.inFlight += 1;
    this.changed();
    const started = performance.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.serviceSeconds = 0.8 * this.serviceSeconds + 0.2 * ((performance.now() - started) / 1000);
      this.inFlight -= 1;
      const next = this.waiting.shift();
      if (next !== undefined) next.admit(E.right(this.take()));
      this.changed();
    };
  }

  private changed(): void {
    this.onChange(this.waiting.length, this.inFlight);
  }
}
