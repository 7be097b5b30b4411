// Everything the demo starts registers how to stop it here, newest first on
// the way out. Runs once; a cleanup registered after teardown began (a start
// that was still in flight on Ctrl-C) runs at once.

export interface CleanupFailure {
  what: string;
  error: unknown;
}

export class Teardown {
  readonly #stack: { what: string; run: () => Promise<void> | void }[] = [];
  #done: Promise<CleanupFailure[]> | undefined;
  #ran = 0;
  readonly #late: Promise<unknown>[] = [];

  /** Registers a cleanup; `what` names it in a failure report. */
  add(what: string, run: () => Promise<void> | void): void {
    if (this.#done) {
      this.#late.push(Promise.resolve().then(run).catch(() => undefined));
      return;
    }
    this.#stack.push({ what, run });
  }

  /** Cleanups run so far. */
  get count(): number {
    return this.#ran;
  }

  get started(): boolean {
    return this.#done !== undefined;
  }

  /** Runs every cleanup, newest first, each once; collects failures instead of stopping. */
  run(): Promise<CleanupFailure[]> {
    this.#done ??= (async () => {
      const failures: CleanupFailure[] = [];
      while (this.#stack.length > 0) {
        const entry = this.#stack.pop();
        if (!entry) break;
        this.#ran++;
        try {
          await entry.run();
        } catch (error) {
          failures.push({ what: entry.what, error });
        }
      }
      await Promise.all(this.#late);
      return failures;
    })();
    return this.#done;
  }
}
