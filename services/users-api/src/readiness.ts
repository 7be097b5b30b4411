// /readyz answers "send me traffic": valid credentials, a reachable database,
// and not leaving. Leaving is one-way: once not-ready for shutdown or expiry,
// the service never turns ready again.

export interface ReadinessChecks {
  /** Why the current credentials are unusable, or undefined when they are valid. */
  credentialsProblem(): string | undefined;
  /** Resolves when the database answers a trivial query. */
  pingDatabase(): Promise<void>;
}

export type ReadinessResult = { ready: true } | { ready: false; reason: string };

export class Readiness {
  readonly #checks: ReadinessChecks;
  #leavingReason: string | undefined;

  constructor(checks: ReadinessChecks) {
    this.#checks = checks;
  }

  /** Turns not-ready for good (SIGTERM, credentials about to expire). */
  leave(reason: string): void {
    this.#leavingReason ??= reason;
  }

  get leaving(): boolean {
    return this.#leavingReason !== undefined;
  }

  async check(): Promise<ReadinessResult> {
    if (this.#leavingReason !== undefined) return { ready: false, reason: this.#leavingReason };
    const problem = this.#checks.credentialsProblem();
    if (problem !== undefined) return { ready: false, reason: problem };
    try {
      await this.#checks.pingDatabase();
    } catch {
      return { ready: false, reason: 'database unreachable' };
    }
    return { ready: true };
  }
}
