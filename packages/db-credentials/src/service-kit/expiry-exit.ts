// Init-container mode: the credentials file is rendered once and never
// refreshed, so the pod must be replaced before the credentials expire. This
// decides when; it is pure (clock and randomness are inputs) and unit-tested.

export interface ExpiryExitInput {
  /** When the credentials stop working (ms since epoch). */
  expiresAtMs: number;
  nowMs: number;
  /** Uniform in [0, 1): spreads replicas that started together. */
  random: number;
  /** Leave at least this long before expiry (covers the shutdown and the replacement's start). */
  leadMs: number;
  /** Plus up to this much more, at random. */
  jitterMs: number;
}

/**
 * When to start leaving: `expiresAt - lead - random * jitter`. Lead and jitter
 * are each capped at a quarter of the remaining lifetime, so short-lived
 * credentials still serve for at least half of what is left, and the answer is
 * never in the past.
 */
export function expiryExitTime({ expiresAtMs, nowMs, random, leadMs, jitterMs }: ExpiryExitInput): number {
  const remaining = expiresAtMs - nowMs;
  if (remaining <= 0) return nowMs;
  const quarter = remaining / 4;
  const lead = Math.min(leadMs, quarter);
  const jitter = Math.min(jitterMs, quarter) * Math.min(Math.max(random, 0), 1);
  return Math.max(nowMs, Math.round(expiresAtMs - lead - jitter));
}

/** Retry delay after the PodDisruptionBudget refused an eviction: 5–10 s, never past the deadline. */
export function evictionRetryDelay(nowMs: number, deadlineMs: number, random: number): number {
  return Math.max(0, Math.min(5_000 + 5_000 * random, deadlineMs - nowMs));
}

/**
 * Readiness turns false this long before the credentials expire (a tenth of the
 * lease, at most 30 s): when the source cannot renew them (Vault down), the load
 * balancer drains this replica while its credentials still work. A healthy source
 * renews at about 2/3 of the lease, with a third of it left: far from this margin.
 */
export function expiryReadinessMarginMs(leaseDurationSec: number): number {
  return Math.min(30_000, Math.max(0, leaseDurationSec * 100));
}

/** Why credentials expiring at `expiresAtMs` make the service not ready at `nowMs` (`marginMs` ahead), if they do. */
export function credentialsExpiryProblem(expiresAtMs: number | undefined, marginMs: number, nowMs: number): string | undefined {
  if (expiresAtMs === undefined) return undefined;
  if (expiresAtMs <= nowMs) return 'database credentials expired';
  return expiresAtMs - nowMs <= marginMs ? 'database credentials about to expire' : undefined;
}
