// Timing decisions as pure functions of (lease, now, random): no clock, no
// timers here, so every branch is table-tested.
import { backoffDelay, type BackoffPolicy } from '@rotor/vault-client';

// The one backoff lives in vault-client; re-exported because this package's API has long had it here.
export { backoffDelay, type BackoffPolicy };

/** A lease (of credentials or of a token) as last granted. */
export interface LeaseTerm {
  /** Seconds granted at `grantedAtMs` (0 = never expires). */
  durationSec: number;
  grantedAtMs: number;
}

export interface RenewalPolicy {
  /** Renew at this fraction of the granted duration (2/3 by default). */
  fraction: number;
  /** Up to this fraction of that delay is taken off at random, so replicas spread out. */
  jitter: number;
  /** Never wake sooner than this after the grant. */
  minDelayMs: number;
}

export const DEFAULT_RENEWAL: RenewalPolicy = { fraction: 2 / 3, jitter: 0.1, minDelayMs: 200 };

/** When to renew (or replace) a lease: about 2/3 into its term; undefined = never. */
export function renewalTime(lease: LeaseTerm, random: number, policy: RenewalPolicy = DEFAULT_RENEWAL): number | undefined {
  if (lease.durationSec <= 0) return undefined;
  const delay = lease.durationSec * 1000 * policy.fraction * (1 - policy.jitter * random);
  return lease.grantedAtMs + Math.max(policy.minDelayMs, delay);
}

/** When a lease ends; undefined = never. */
export function expiryTime(lease: LeaseTerm): number | undefined {
  return lease.durationSec > 0 ? lease.grantedAtMs + lease.durationSec * 1000 : undefined;
}

/**
 * A renewal that grants less than asked has hit the max TTL: the lease ends
 * at `now + granted` whatever we do, so it is time for new credentials.
 */
export function isTruncated(requestedSec: number, grantedSec: number): boolean {
  return grantedSec < requestedSec;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseDelayMs: 250, maxDelayMs: 10_000 };

/**
 * Next retry after a failed renewal: backoff, but while the lease is still
 * valid never later than half the time left, so a short outage cannot make us
 * miss its end.
 */
export function retryTime(now: number, attempt: number, random: number, leaseEndMs: number | undefined, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  const delay = backoffDelay(attempt, random, policy);
  if (leaseEndMs === undefined || leaseEndMs <= now) return now + delay;
  return now + Math.min(delay, Math.max(policy.baseDelayMs / 2, (leaseEndMs - now) / 2));
}
