/** Resolves after `ms`, or at once when `signal` aborts. */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** Waits for `p` at most `ms`; true when it settled in time (a rejection counts as settled). */
export const settlesWithin = async (p: Promise<unknown>, ms: number): Promise<boolean> => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
};

/** A wake-up signal that can be fired many times and awaited many times. */
export class Wakeup {
  private resolve: (() => void) | null = null;
  private fired = false;

  fire(): void {
    this.fired = true;
    this.resolve?.();
    this.resolve = null;
  }

  /** Resolves on the next fire (or at once when fired since the last wait), or after `ms`. */
  async wait(ms: number): Promise<void> {
    if (this.fired) {
      this.fired = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.resolve = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.fired = false;
  }
}
