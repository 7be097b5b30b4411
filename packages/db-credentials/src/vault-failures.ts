import { isVaultError, VaultErrorCode } from '@rotor/vault-client';

/** Closed set of reasons (a metric label) for a failed call to Vault. */
export type VaultFailure = 'unreachable' | 'denied' | 'lease-invalid' | 'other';

export function classifyVaultFailure(err: unknown): VaultFailure {
  if (!isVaultError(err)) return 'other';
  switch (err.code) {
    case VaultErrorCode.NETWORK:
    case VaultErrorCode.TIMEOUT:
    case VaultErrorCode.UNAVAILABLE:
    case VaultErrorCode.SEALED:
    case VaultErrorCode.RATE_LIMITED:
    case VaultErrorCode.REDIRECT:
      return 'unreachable';
    case VaultErrorCode.PERMISSION_DENIED:
      return 'denied';
    case VaultErrorCode.BAD_REQUEST:
    case VaultErrorCode.NOT_FOUND:
      return 'lease-invalid';
    default:
      return 'other';
  }
}

/**
 * What to do after a lease renewal failed: Vault away -> try again later (the
 * credentials stay valid meanwhile); lease unknown (revoked, expired) -> new
 * credentials; token refused -> log in again first.
 */
export function nextStepAfterRenewalFailure(failure: VaultFailure): 'retry' | 'reissue' | 'relogin' {
  if (failure === 'lease-invalid') return 'reissue';
  if (failure === 'denied') return 'relogin';
  return 'retry';
}
