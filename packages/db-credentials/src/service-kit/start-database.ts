// The few lines every service on rotating credentials begins with: the source
// for the configured mode, started; a RotatingPool on it; readiness for both.
// A service that needs more (users-api: init-container exit, delivery metrics)
// assembles the same parts itself.
import type { Logger } from 'pino';
import { CredentialMetrics } from '../metrics.ts';
import { silentLogger } from '../logger.ts';
import { RotatingPool, type DatabaseChoice } from '../rotating-pool.ts';
import type { CredentialSource } from '../source.ts';
import { hasExactExpiry, type CredentialsConfig } from './credential-modes.ts';
import { poolReadiness } from './pool-readiness.ts';
import type { Readiness } from './readiness.ts';
import { createCredentialSource } from './source-factory.ts';

/**
 * `pg`: PostgreSQL pool settings without the login (host, port, database, max, ssl...), or
 * `driver`: another database's driver (`mysqlDriver({...})` from `@rotor/db-credentials/mysql`).
 */
export type StartDatabaseOptions = DatabaseChoice & {
  credentials: CredentialsConfig;
  logger?: Logger;
  metrics?: CredentialMetrics;
};

export interface RunningDatabase {
  /** Query here: each query runs on the current credentials, swapped with zero failed queries. */
  readonly pool: RotatingPool;
  readonly source: CredentialSource;
  /** For /readyz: credentials valid and the database answering. */
  readonly readiness: Readiness;
  /** Not ready, end the pools, then let the source revoke its lease. Idempotent. */
  stop(): Promise<void>;
}

export async function startDatabase(options: StartDatabaseOptions): Promise<RunningDatabase> {
  const logger = options.logger ?? silentLogger();
  const metrics = options.metrics ?? new CredentialMetrics();
  const source = createCredentialSource(options.credentials, metrics, logger);
  await source.start();
  const exactExpiry = hasExactExpiry(options.credentials);
  // Serve nothing past an exact expiry: connections opened before it would go on working.
  const database: DatabaseChoice = options.driver === undefined ? { pg: options.pg } : { driver: options.driver };
  const pool = new RotatingPool({ source, metrics, logger, ...database, refuseExpired: exactExpiry });
  try {
    await pool.start();
  } catch (err) {
    await source.stop().catch(() => undefined);
    throw err;
  }
  const readiness = poolReadiness({ source, pool, exactExpiry });
  let stopped: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    readiness.leave('stopping');
    await pool.stop();
    await source.stop();
  };
  // Idempotent: SIGTERM and SIGINT may both arrive.
  return { pool, source, readiness, stop: () => (stopped ??= stop()) };
}
