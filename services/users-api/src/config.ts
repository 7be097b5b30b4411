// Configuration from the environment, validated once at start. Every problem is
// reported together so an operator fixes the manifest in one go.
import { EnvReader, readCredentialsConfig, readExpiryExitConfig, readPodIdentity, type CredentialsConfig, type Env } from '@rotor/db-credentials/service-kit';
import { ConfigError } from './errors.ts';

// The credential modes are the service kit's; re-exported for this service's callers.
export type { CredentialMode, CredentialsConfig, VaultAuthConfig } from '@rotor/db-credentials/service-kit';

export interface Config {
  listen: { host: string; port: number };
  /** sslRootCert: a CA file; when set, TLS verified against it and the host name (libpq's verify-full). */
  database: { host: string; port: number; name: string; poolMax: number; sslRootCert: string | undefined };
  credentials: CredentialsConfig;
  bodyLimitBytes: number;
  /** SIGTERM: stay up not-ready for delayMs (endpoints catch up), then drain for at most drainTimeoutMs. */
  shutdown: { delayMs: number; drainTimeoutMs: number };
  /** Init-container mode: leave at most leadMs plus up to jitterMs before the credentials expire. */
  expiryExit: { leadMs: number; jitterMs: number };
  /** Downward-API identity of the pod, for self-eviction in init-container mode. */
  pod: { name: string; namespace: string } | undefined;
  logLevel: string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Reads and validates the whole configuration, or throws a ConfigError listing every problem. */
export function loadConfig(environment: Env): Config {
  const env = new EnvReader(environment);
  // First, so its problem leads the list as it always did.
  const pod = readPodIdentity(env);
  const config: Config = {
    listen: { host: env.string('HOST', '0.0.0.0'), port: env.integer('PORT', 8080, 0, 65535) },
    database: {
      host: env.required('DB_HOST', '(PostgreSQL host name)'),
      port: env.integer('DB_PORT', 5432, 1, 65535),
      name: env.string('DB_NAME', 'postgres'),
      poolMax: env.integer('DB_POOL_MAX', 10, 1, 1000),
      sslRootCert: env.optional('DB_SSLROOTCERT'),
    },
    credentials: readCredentialsConfig(env),
    bodyLimitBytes: env.integer('BODY_LIMIT_BYTES', 16 * 1024, 1024, 1024 * 1024),
    shutdown: {
      delayMs: env.integer('SHUTDOWN_DELAY_MS', 5_000, 0, 120_000),
      drainTimeoutMs: env.integer('SHUTDOWN_DRAIN_TIMEOUT_MS', 20_000, 100, 600_000),
    },
    expiryExit: readExpiryExitConfig(env),
    pod,
    logLevel: env.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
  };
  if (env.problems.length > 0) throw new ConfigError(env.problems);
  return config;
}
