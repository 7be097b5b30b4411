import { backoffDelay } from './backoff.ts';
import { VaultErrorCode, isVaultError } from './errors.ts';
import type { VaultError } from './errors.ts';
import { isCertificateErrorCode } from './transport.ts';

export interface RetryPolicy {
  /** Total attempts, including the first one. 1 disables retries. */
  attempts: number;
  /** Ceiling of the first backoff; doubles with every retry. */
  baseDelayMs: number;
  /** Cap of any pause, including one asked for by Retry-After. */
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { attempts: 4, baseDelayMs: 200, maxDelayMs: 5_000 };

/**
 * Reads a Retry-After header (delta-seconds or an HTTP date) as milliseconds
 * from `nowMs`; undefined when absent or unreadable.
 */
export function retryAfterMs(header: string | null | undefined, nowMs: number): number | undefined {
  if (header == null || header.trim() === '') return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1_000;
  // An HTTP date has a weekday and month name; Date.parse alone would take "-1" as a year.
  if (!/[a-z]/i.test(value)) return undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** The pause before the next attempt: Retry-After wins when given, always capped. */
export function retryDelayMs(
  retry: number,
  policy: RetryPolicy,
  random: number,
  retryAfter: number | undefined,
): number {
  if (retryAfter !== undefined) return Math.min(retryAfter, policy.maxDelayMs);
  // Full jitter: a client's calls are few and short, so spreading them wins over a floor.
  return backoffDelay(retry, random, { baseDelayMs: policy.baseDelayMs, maxDelayMs: policy.maxDelayMs, jitter: 'full' });
}

/** Network error codes raised before a request reached the server. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** The first `code` string found on an error, its causes, or an AggregateError's members. */
export function networkErrorCode(err: unknown, depth = 0): string | undefined {
  if (depth > 4 || typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  if (err instanceof AggregateError) {
    for (const inner of err.errors) {
      const found = networkErrorCode(inner, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return networkErrorCode((err as { cause?: unknown }).cause, depth + 1);
}

/**
 * Whether Vault certainly did not act on the request, so that repeating it
 * cannot do anything twice: the connection was never made, the node was
 * sealed or unavailable (503), or a rate limit refused it (429).
 */
export function certainlyNotProcessed(err: VaultError): boolean {
  switch (err.code) {
    case VaultErrorCode.SEALED:
    case VaultErrorCode.UNAVAILABLE:
    case VaultErrorCode.RATE_LIMITED:
      return true;
    case VaultErrorCode.NETWORK: {
      const code = networkErrorCode(err.cause);
      return code !== undefined && NOT_SENT_CODES.has(code);
    }
    default:
      return false;
  }
}

/** A connection refused because the server's certificate did not verify (wrong CA, expired, wrong name). */
export function isCertificateError(err: unknown): boolean {
  return isVaultError(err) && err.code === VaultErrorCode.NETWORK && isCertificateErrorCode(networkErrorCode(err.cause));
}

/** Failures that may pass by themselves: timeouts, network trouble (not a refused certificate), 429 and 5xx. */
export function isTransient(err: VaultError): boolean {
  if (err.code === VaultErrorCode.TIMEOUT) return true;
  if (err.code === VaultErrorCode.NETWORK) return !isCertificateError(err);
  return err.status === 429 || (err.status !== undefined && err.status >= 500 && err.status !== 501);
}

/**
 * Whether to try again after `err`. Idempotent calls retry every transient
 * failure. Calls with effects that must not happen twice (logins and
 * database/creds mint a new token or user each time, init hands out keys only
 * once) retry only when the request certainly was not processed: retrying
 * after a timeout could orphan a lease or, for init, lose the unseal keys.
 */
export function shouldRetry(err: VaultError, idempotent: boolean): boolean {
  return idempotent ? isTransient(err) : certainlyNotProcessed(err);
}
