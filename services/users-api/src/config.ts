// Configuration from the environment, validated once at start. Every problem is
// reported together so an operator fixes the manifest in one go.
import { ConfigError } from './errors.ts';

export type CredentialMode = 'file' | 'vault' | 'static';

/** How the service logs in to Vault in `vault` mode. */
export type VaultAuthConfig =
  | { method: 'kubernetes'; mount: string; role: string; jwtPath: string }
  | { method: 'approle'; mount: string; roleId: string; secretId: string }
  | { method: 'token'; token: string };

export type CredentialsConfig =
  | { mode: 'static'; username: string; password: string }
  /** refresh "agent": a Vault Agent sidecar re-renders the file; "none": init container only. */
  | { mode: 'file'; path: string; refresh: 'agent' | 'none' }
  | { mode: 'vault'; address: string; caCertPath: string | undefined; dbMount: string; dbRole: string; auth: VaultAuthConfig };

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

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Collects problems while reading variables, so all are reported at once. */
class EnvReader {
  readonly problems: string[] = [];
  readonly #env: Env;
  constructor(env: Env) {
    this.#env = env;
  }

  optional(name: string): string | undefined {
    const value = this.#env[name]?.trim();
    return value === '' ? undefined : value;
  }

  string(name: string, fallback: string): string {
    return this.optional(name) ?? fallback;
  }

  required(name: string, why: string): string {
    const value = this.optional(name);
    if (value === undefined) this.problems.push(`${name} is required ${why}`);
    return value ?? '';
  }

  /** Secrets are taken verbatim (no trim) and never echoed in a problem. */
  secret(name: string, why: string): string {
    const value = this.#env[name];
    if (value === undefined || value === '') this.problems.push(`${name} is required ${why}`);
    return value ?? '';
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      this.problems.push(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T | undefined): T {
    const raw = this.optional(name);
    if (raw === undefined) {
      if (fallback !== undefined) return fallback;
      this.problems.push(`${name} is required: one of ${allowed.join(', ')}`);
      return allowed[0] as T;
    }
    if (!(allowed as readonly string[]).includes(raw)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
      return allowed[0] as T;
    }
    return raw as T;
  }
}

/** Hides a secret from enumeration, so logging the object never shows it. */
function hide<T extends object>(obj: T, key: keyof T & string): T {
  Object.defineProperty(obj, key, { enumerable: false });
  return obj;
}

function readVaultAuth(env: EnvReader): VaultAuthConfig {
  const method = env.oneOf('VAULT_AUTH_METHOD', ['kubernetes', 'approle', 'token'] as const, 'kubernetes');
  switch (method) {
    case 'kubernetes':
      return {
        method,
        mount: env.string('VAULT_AUTH_MOUNT', 'kubernetes'),
        role: env.string('VAULT_AUTH_ROLE', 'app-creds-reader-role'),
        jwtPath: env.string('VAULT_K8S_TOKEN_PATH', '/var/run/secrets/kubernetes.io/serviceaccount/token'),
      };
    case 'approle':
      return hide(
        {
          method,
          mount: env.string('VAULT_AUTH_MOUNT', 'approle'),
          roleId: env.required('VAULT_ROLE_ID', 'when VAULT_AUTH_METHOD=approle'),
          secretId: env.secret('VAULT_SECRET_ID', 'when VAULT_AUTH_METHOD=approle'),
        },
        'secretId',
      );
    case 'token':
      return hide({ method, token: env.secret('VAULT_TOKEN', 'when VAULT_AUTH_METHOD=token') }, 'token');
  }
}

function readCredentials(env: EnvReader): CredentialsConfig {
  const mode = env.oneOf('CREDENTIALS_MODE', ['file', 'vault', 'static'] as const, undefined);
  switch (mode) {
    case 'static':
      return hide(
        {
          mode,
          username: env.required('DB_USER', 'when CREDENTIALS_MODE=static'),
          password: env.secret('DB_PASSWORD', 'when CREDENTIALS_MODE=static'),
        },
        'password',
      );
    case 'file':
      return {
        mode,
        path: env.string('CREDENTIALS_FILE', '/vault/secrets/db-creds.json'),
        refresh: env.oneOf('CREDENTIALS_REFRESH', ['agent', 'none'] as const, 'none'),
      };
    case 'vault': {
      const address = env.required('VAULT_ADDR', 'when CREDENTIALS_MODE=vault');
      if (address !== '' && !/^https?:\/\/[^\s/]+/.test(address)) {
        env.problems.push(`VAULT_ADDR must be an http(s) URL, got "${address}"`);
      }
      return {
        mode,
        address,
        caCertPath: env.optional('VAULT_CACERT'),
        dbMount: env.string('VAULT_DB_MOUNT', 'database'),
        dbRole: env.string('VAULT_DB_ROLE', 'db-reader-role'),
        auth: readVaultAuth(env),
      };
    }
  }
}

/** Reads and validates the whole configuration, or throws a ConfigError listing every problem. */
export function loadConfig(environment: Env): Config {
  const env = new EnvReader(environment);
  const podName = env.optional('POD_NAME');
  const podNamespace = env.optional('POD_NAMESPACE');
  if ((podName === undefined) !== (podNamespace === undefined)) {
    env.problems.push('POD_NAME and POD_NAMESPACE must be set together (from the downward API)');
  }
  const config: Config = {
    listen: { host: env.string('HOST', '0.0.0.0'), port: env.integer('PORT', 8080, 0, 65535) },
    database: {
      host: env.required('DB_HOST', '(PostgreSQL host name)'),
      port: env.integer('DB_PORT', 5432, 1, 65535),
      name: env.string('DB_NAME', 'postgres'),
      poolMax: env.integer('DB_POOL_MAX', 10, 1, 1000),
      sslRootCert: env.optional('DB_SSLROOTCERT'),
    },
    credentials: readCredentials(env),
    bodyLimitBytes: env.integer('BODY_LIMIT_BYTES', 16 * 1024, 1024, 1024 * 1024),
    shutdown: {
      delayMs: env.integer('SHUTDOWN_DELAY_MS', 5_000, 0, 120_000),
      drainTimeoutMs: env.integer('SHUTDOWN_DRAIN_TIMEOUT_MS', 20_000, 100, 600_000),
    },
    expiryExit: {
      leadMs: env.integer('EXPIRY_EXIT_LEAD_MS', 5 * 60_000, 0, 24 * 3_600_000),
      jitterMs: env.integer('EXPIRY_EXIT_JITTER_MS', 5 * 60_000, 0, 24 * 3_600_000),
    },
    pod: podName !== undefined && podNamespace !== undefined ? { name: podName, namespace: podNamespace } : undefined,
    logLevel: env.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
  };
  if (env.problems.length > 0) throw new ConfigError(env.problems);
  return config;
}
