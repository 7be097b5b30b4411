import { VaultErrorCode, isVaultError } from './errors.ts';
import { isCertificateError } from './retry.ts';

/**
 * What a failed call says about Vault, as one closed set (safe as a metric label):
 * - unreachable: no answer now (network, timeout, sealed, standby without a leader, rate limit):
 *   try again later;
 * - untrusted: its TLS certificate did not verify: a setting to fix, not an outage;
 * - denied: the token was refused or its policy does not allow the path;
 * - rejected: Vault refused the request itself (400) or has nothing there (404);
 * - other: anything else, including errors that are not Vault's.
 */
export type VaultFailure = 'unreachable' | 'untrusted' | 'denied' | 'rejected' | 'other';

export function classifyVaultFailure(err: unknown): VaultFailure {
  if (!isVaultError(err)) return 'other';
  if (isCertificateError(err)) return 'untrusted';
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
      return 'rejected';
    default:
      return 'other';
  }
}
