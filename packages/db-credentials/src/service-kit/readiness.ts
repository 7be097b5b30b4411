// /readyz answers "send me traffic": valid credentials, a reachable database,
// and not leaving. Leaving is one-way: once not-ready for shutdown or expiry,
// the service never turns ready again.
//
// Every replica pings the same database, so a verdict on one slow ping would take
// every replica out of the Service at once (a busy pool, a vacuum, a network hiccup):
// the database counts as unreachable only once pings have kept failing for
// `failureWindowMs`. A refusal of this replica's own credentials (revoked) is no
// shared slowness and counts at once. Concurrent checks share one ping in flight.

export interface ReadinessChecks {
  /** Why the current credentials are unusable, or undefined when they are valid. */
  credentialsProblem(): string | undefined;
  /** Resolves when the database answers a trivial query. */
  pingDatabase(): Promise<void>;
  /** Whether a ping's failure is the database refusing this replica's credentials. */
  isRefusal?(err: unknown): boolean;
}

export interface ReadinessOptions {
  /** How long pings must keep failing before the database counts as unreachable. */
  failureWindowMs?: number;
  now?: () => number;
}

export type ReadinessResult = { ready: true } | { ready: false; reason: string };

/** Default window: about three probes of the Deployment (periodSeconds 2) or two ping timeouts. */
export const DATABASE_FAILURE_WINDOW_MS = 5_000;

export class Readiness {
  readonly #checks: ReadinessChecks;
  readonly #failureWindowMs: number;
  readonly #now: () => number;
  #leavingReason: string | undefined;
  #ping: Promise<{ ok: true } | { ok: false; refused: boolean }> | undefined;
  /** When the run of failed pings began; undefined while the last ping succeeded. */
  #failingSince: number | undefined;
  #everReachable = false;

  constructor(checks: ReadinessChecks, options: ReadinessOptions = {}) {
    this.#checks = checks;
    this.#failureWindowMs = options.failureWindowMs ?? DATABASE_FAILURE_WINDOW_MS;
    this.#now = options.now ?? Date.now;
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
    const database = await this.#database();
    // A ping can take seconds: a leave() meanwhile (SIGTERM) wins over its answer.
    if (this.#leavingReason !== undefined) return { ready: false, reason: this.#leavingReason };
    return database;
  }

  async #database(): Promise<ReadinessResult> {
    this.#ping ??= this.#checks.pingDatabase().then(
      () => ({ ok: true as const }),
      (err: unknown) => ({ ok: false as const, refused: this.#checks.isRefusal?.(err) ?? false }),
    );
    const ping = this.#ping;
    const result = await ping;
    if (this.#ping === ping) this.#ping = undefined;
    const now = this.#now();
    if (result.ok) {
      this.#failingSince = undefined;
      this.#everReachable = true;
      return { ready: true };
    }
    this.#failingSince ??= now;
    if (result.refused) return { ready: false, reason: 'database refused the credentials' };
    // Never reached yet (starting up): no benefit of the doubt.
    const tolerated = this.#everReachable && now - this.#failingSince < this.#failureWindowMs;
    return tolerated ? { ready: true } : { ready: false, reason: 'database unreachable' };
  }
}
