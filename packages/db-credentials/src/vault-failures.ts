import { classifyVaultFailure } from '@rotor/vault-client';

/**
 * Closed set of reasons (a metric label) for a failed call of the lease source: Vault's own
 * classes, with "rejected" (400, 404) named for what it means here: the lease is gone.
 */
export type LeaseFailure = 'unreachable' | 'untrusted' | 'denied' | 'lease-invalid' | 'other';

export function classifyLeaseFailure(err: unknown): LeaseFailure {
  const failure = classifyVaultFailure(err);
  return failure === 'rejected' ? 'lease-invalid' : failure;
}

/**
 * What to do after a lease renewal failed: Vault away -> try again later (the
 * credentials stay valid meanwhile); lease unknown (revoked, expired) -> new
 * credentials; token refused -> log in again first.
 */
export function nextStepAfterRenewalFailure(failure: LeaseFailure): 'retry' | 'reissue' | 'relogin' {
  if (failure === 'lease-invalid') return 'reissue';
  if (failure === 'denied') return 'relogin';
  return 'retry';
}
