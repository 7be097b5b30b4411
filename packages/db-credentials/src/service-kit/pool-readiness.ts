// Readiness for a service on a RotatingPool: credentials valid (and, for an exact
// expiry, not about to expire), and the database answering a ping in time.
import { setTimeout as delay } from 'node:timers/promises';
import { isDbCredentialsError } from '../errors.ts';
import type { CredentialSource } from '../source.ts';
import { credentialsExpiryProblem, expiryReadinessMarginMs } from './expiry-exit.ts';
import { Readiness, type ReadinessOptions } from './readiness.ts';

const PING_TIMEOUT_MS = 2_000;

export interface PoolReadinessOptions extends ReadinessOptions {
  source: CredentialSource;
  /** Anything with query(): a RotatingPool, or a plain pg.Pool. */
  pool: { query(text: string): Promise<unknown> };
  /** True for a Vault lease or an init container's file (see hasExactExpiry). */
  exactExpiry: boolean;
  pingTimeoutMs?: number;
}

export function poolReadiness({ source, pool, exactExpiry, pingTimeoutMs = PING_TIMEOUT_MS, ...options }: PoolReadinessOptions): Readiness {
  return new Readiness(
    {
      credentialsProblem: () => {
        const current = source.current();
        // Not ready a little before an exact expiry, so traffic leaves while the credentials still work.
        return credentialsExpiryProblem(current.expiresAt?.getTime(), exactExpiry ? expiryReadinessMarginMs(current.leaseDuration) : 0, Date.now());
      },
      pingDatabase: async () => {
        await Promise.race([pool.query('SELECT 1'), delay(pingTimeoutMs, undefined, { ref: false }).then(() => Promise.reject(new Error('ping timed out')))]);
      },
      isRefusal: (err) => isDbCredentialsError(err, 'DBCREDS_REFUSED'),
    },
    options,
  );
}
