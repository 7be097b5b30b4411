// Leader election: two unsealer replicas must never act at once. Both drivers
// (a lock file, a Kubernetes Lease) share one pure rule for who holds the lease.

/** Decides and holds leadership; the runner asks before every pass. */
export interface LeaderElection {
  readonly description: string;
  /** Acquires, renews or fails to take the lease; true when this instance leads. */
  tryAcquire(signal?: AbortSignal): Promise<boolean>;
  /** Gives the lease up (only if held), so a successor need not wait for expiry. */
  release(): Promise<void>;
}

export interface LeaseRecord {
  holder: string;
  /** Last renewal, ms since the epoch. */
  renewedAt: number;
  durationMs: number;
}

export type LeaseDecision = 'acquire' | 'renew' | 'take-over' | 'held-by-other';

/** What an instance may do with a lease as it finds it. */
export function decideLease(current: LeaseRecord | undefined, identity: string, now: number): LeaseDecision {
  if (current === undefined || current.holder === '') return 'acquire';
  if (current.holder === identity) return 'renew';
  return now - current.renewedAt > current.durationMs ? 'take-over' : 'held-by-other';
}

/** Leadership that always holds: a single instance with nothing to coordinate. */
export class NoElection implements LeaderElection {
  readonly description = 'none (single instance)';
  tryAcquire(): Promise<boolean> {
    return Promise.resolve(true);
  }
  release(): Promise<void> {
    return Promise.resolve();
  }
}
