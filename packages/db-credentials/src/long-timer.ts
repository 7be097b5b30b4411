// Node's timers hold at most 2^31-1 ms (about 24.8 days). A longer delay is
// not clamped but replaced by 1 ms (with a TimeoutOverflowWarning): a 768 h
// lease, Vault's default when a role sets no TTL, would then "expire" at once.
// These helpers wait in steps a Node timer can hold, re-arming on the
// monotonic clock until the whole delay has passed.

/** The longest delay a Node timer holds. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

export interface LongTimerOptions {
  /** false: the timer alone does not keep the process alive. */
  ref?: boolean;
  /** A monotonic clock in ms; default performance.now (tests inject one with mocked timers). */
  now?: () => number;
}

/** A pending long timer. */
export interface LongTimer {
  cancel(): void;
}

/** The next step of a wait with `remainingMs` to go: what one Node timer can hold. */
export function timerStep(remainingMs: number): number {
  return Math.min(Math.max(0, remainingMs), MAX_TIMER_DELAY_MS);
}

/** setTimeout without the overflow: `fn` runs once `delayMs` has passed, however long that is. */
export function setLongTimeout(fn: () => void, delayMs: number, options: LongTimerOptions = {}): LongTimer {
  const now = options.now ?? (() => performance.now());
  const deadline = now() + Math.max(0, delayMs);
  let timer: NodeJS.Timeout | undefined;
  let cancelled = false;
  const arm = (remainingMs: number): void => {
    timer = setTimeout(() => {
      if (cancelled) return;
      const left = deadline - now();
      // Node rounds timers to whole milliseconds: under 1 ms left is "now".
      if (left < 1) fn();
      else arm(left);
    }, timerStep(remainingMs));
    if (options.ref === false) timer.unref();
  };
  arm(delayMs);
  return {
    cancel() {
      cancelled = true;
      clearTimeout(timer);
    },
  };
}

/** timers/promises' setTimeout without the overflow; rejects with the signal's reason on abort. */
export function longDelay(delayMs: number, options: LongTimerOptions & { signal?: AbortSignal } = {}): Promise<void> {
  const { signal } = options;
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = (): void => {
      timer.cancel();
      reject(abortReason(signal));
    };
    const timer = setLongTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      delayMs,
      options,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error('aborted', { cause: reason });
}
