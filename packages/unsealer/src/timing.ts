// Pure timing: delays are functions of (attempt, policy, random), never of a clock.
import type { BackoffPolicy } from '@rotor/vault-client';

export interface Timing {
  /** Regular pass when nothing needs doing. */
  resyncMs: number;
  /** Next pass after one that acted, to follow up (join -> unseal). */
  settleMs: number;
  /** How long a node that got all shares may stay sealed (raft join) before they are sent again. */
  unsealGraceMs: number;
  /** Retrying to persist keys that exist only in memory. */
  persistRetry: BackoffPolicy;
}

export const defaultTiming: Timing = {
  resyncMs: 5_000,
  settleMs: 100,
  unsealGraceMs: 15_000,
  persistRetry: { baseDelayMs: 500, maxDelayMs: 5_000 },
};
