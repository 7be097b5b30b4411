import { setLongTimeout, type LongTimer } from './long-timer.ts';

/**
 * One re-armable timer for a piece of background work (renew a lease, renew a token): arming it
 * again replaces the pending run, and runs in flight are tracked so that stop() can wait for them.
 * Long-safe: a 768 h lease (Vault's default TTL) must not fire at once.
 */
export class ScheduledTask {
  readonly #now: () => number;
  readonly #onError: (err: unknown) => void;
  readonly #stopping: () => boolean;
  readonly #running = new Set<Promise<void>>();
  #timer: LongTimer | undefined;

  constructor(options: { now: () => number; onError: (err: unknown) => void; stopping: () => boolean }) {
    this.#now = options.now;
    this.#onError = options.onError;
    this.#stopping = options.stopping;
  }

  /** Runs `task` at `atMs` instead of whatever was pending; nothing once stopping. */
  at(atMs: number, task: () => Promise<unknown>): void {
    this.cancel();
    if (this.#stopping()) return;
    this.#timer = setLongTimeout(() => {
      const running: Promise<void> = task()
        .then(() => undefined)
        .catch((err: unknown) => this.#onError(err))
        .finally(() => this.#running.delete(running));
      this.#running.add(running);
    }, Math.max(0, atMs - this.#now()));
  }

  cancel(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** Resolves when the runs in flight have ended. */
  async settled(): Promise<void> {
    await Promise.all([...this.#running]);
  }
}
