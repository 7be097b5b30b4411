// Leader election: two unsealer replicas must never act at once. Both drivers
// (a lock file, a Kubernetes Lease) share these pure rules, which follow
// client-go's leaderelection: a candidate never compares the holder's renewal
// timestamp with its own clock (clocks differ between machines); it takes over
// only once it has itself seen the record unchanged for a whole lease
// duration. And a leader that has not renewed within its renew deadline
// (shorter than the lease) stops acting before anyone could take over.

/** Decides and holds leadership; the runner asks before every pass. */
export interface LeaderElection {
  readonly description: string;
  /** Acquires, renews or fails to take the lease; true when this instance leads. */
  tryAcquire(signal?: AbortSignal): Promise<boolean>;
  /**
   * Whether this instance may still act: the last successful acquire or renewal
   * began less than the renew deadline ago (checked before every action).
   */
  isLeading(): boolean;
  /** Gives the lease up (only if held), so a successor need not wait for expiry. */
  release(): Promise<void>;
}

/** A lease as read from its store. */
export interface LeaseRecord {
  holder: string;
  /** The holder's own clock at its last renewal (informational only: never compared with ours). */
  renewedAt: number;
  durationMs: number;
  /** Identifies this version of the record: any renewal changes it. */
  version: string;
}

/** What this instance last saw of the lease, and when on its own clock it last saw it change. */
export interface LeaseObservation {
  record: LeaseRecord;
  observedAt: number;
}

export type LeaseDecision = 'acquire' | 'renew' | 'take-over' | 'held-by-other';

/** Updates what we know of the lease: a changed record restarts the local clock. */
export function observeLease(previous: LeaseObservation | undefined, current: LeaseRecord | undefined, now: number): LeaseObservation | undefined {
  if (current === undefined) return undefined;
  if (previous !== undefined && previous.record.version === current.version) return previous;
  return { record: current, observedAt: now };
}

/**
 * What an instance may do with the lease as it has observed it. Another
 * holder's lease counts as expired only after `durationMs` on our clock since
 * we saw it change: a fresh candidate (or one whose clock runs ahead) waits a
 * whole lease duration before a takeover, as client-go does.
 */
export function decideLease(observed: LeaseObservation | undefined, identity: string, now: number): LeaseDecision {
  if (observed === undefined || observed.record.holder === '') return 'acquire';
  if (observed.record.holder === identity) return 'renew';
  return now - observed.observedAt > observed.record.durationMs ? 'take-over' : 'held-by-other';
}

/**
 * Whether a leader whose last successful acquire or renewal started at
 * `renewStartedAt` (our clock) may still act. Measured from the start of the
 * request, before the write landed and before any other candidate could see
 * it, so the leader stops at least `leaseMs - renewDeadlineMs` before a
 * takeover becomes possible.
 */
export function withinRenewDeadline(renewStartedAt: number | undefined, renewDeadlineMs: number, now: number): boolean {
  return renewStartedAt !== undefined && now - renewStartedAt < renewDeadlineMs;
}

/** The default renew deadline: 2/3 of the lease, client-go's 10 s of 15 s. */
export function defaultRenewDeadlineMs(leaseMs: number): number {
  return Math.floor((leaseMs * 2) / 3);
}

/** Rejects a renew deadline that would let a leader act after others may take over. */
export function checkElectionTiming(leaseMs: number, renewDeadlineMs: number): string | undefined {
  if (!(leaseMs > 0)) return `lease duration must be positive, got ${leaseMs} ms`;
  if (!(renewDeadlineMs > 0 && renewDeadlineMs < leaseMs)) return `renew deadline (${renewDeadlineMs} ms) must be positive and shorter than the lease (${leaseMs} ms)`;
  return undefined;
}

/** Leadership that always holds: a single instance with nothing to coordinate. */
export class NoElection implements LeaderElection {
  readonly description = 'none (single instance)';
  tryAcquire(): Promise<boolean> {
    return Promise.resolve(true);
  }
  isLeading(): boolean {
    return true;
  }
  release(): Promise<void> {
    return Promise.resolve();
  }
}
