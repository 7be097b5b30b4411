// Pure timing: delays are functions of (attempt, policy, random), never of a clock.

export interface Backoff {
  baseMs: number;
  maxMs: number;
}

export interface Timing {
  /** Regular pass when nothing needs doing. */
  resyncMs: number;
  /** Next pass after one that acted, to follow up (join -> unseal). */
  settleMs: number;
  /** How long a node that got all shares may stay sealed (raft join) before they are sent again. */
  unsealGraceMs: number;
  /** Retrying to persist keys that exist only in memory. */
  persistRetry: Backoff;
}

export const defaultTiming: Timing = {
  resyncMs: 5_000,
  settleMs: 100,
  unsealGraceMs: 15_000,
  persistRetry: { baseMs: 500, maxMs: 5_000 },
};

/**
 * Exponential backoff with "equal jitter": half the step is fixed so retries
 * never bunch up at zero, half is random so replicas do not retry in lockstep.
 */
export function backoffDelayMs(failures: number, policy: Backoff, random: number): number {
  const step = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, failures));
  return Math.round(step / 2 + (step / 2) * random);
}
