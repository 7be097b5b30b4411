// The one backoff of Rotor's retries (Vault calls, lease renewals, database reconnects, the
// unsealer's key persistence): pure, so callers pass the attempt and the randomness in.

export interface BackoffPolicy {
  /** Ceiling of the first pause; it doubles with every attempt. */
  baseDelayMs: number;
  /** Cap of any pause. */
  maxDelayMs: number;
  /**
   * "equal" (default): half the ceiling fixed, half random, so retries never bunch up at zero
   * and replicas do not retry in lockstep; "full": anywhere below the ceiling.
   */
  jitter?: 'equal' | 'full';
}

/**
 * The pause before retry `attempt` (from 0; a negative one counts as 0), in whole
 * milliseconds below the ceiling min(maxDelayMs, baseDelayMs * 2^attempt); `random` is in [0, 1).
 */
export function backoffDelay(attempt: number, random: number, policy: BackoffPolicy): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt));
  const fixed = policy.jitter === 'full' ? 0 : ceiling / 2;
  return Math.floor(fixed + (ceiling - fixed) * random);
}
