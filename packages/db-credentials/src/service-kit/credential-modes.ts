// The three ways a service gets its database credentials, chosen by
// CREDENTIALS_MODE (documented in docs/users-api.md):
//   vault:  the service logs in to Vault and holds the lease itself;
//   file:   a Vault Agent renders a JSON file (sidecar: re-rendered; init container: once);
//   static: fixed credentials, for local development only.
import { EnvReader, type Env } from './env-reader.ts';

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

/** Reads CREDENTIALS_MODE and its variables; problems are added to `env.problems`. */
export function readCredentialsConfig(env: EnvReader): CredentialsConfig {
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

/** Standalone form for a service with no settings of its own: the config, or every problem. */
export function credentialsConfigFromEnv(environment: Env): { config: CredentialsConfig; problems: readonly string[] } {
  const env = new EnvReader(environment);
  const config = readCredentialsConfig(env);
  return { config, problems: env.problems };
}

/** Nothing renews an init container's credentials file: the pod must leave before they expire. */
export function isInitContainerMode(config: CredentialsConfig): boolean {
  return config.mode === 'file' && config.refresh === 'none';
}

/**
 * A Vault lease or an init container's file: the expiry is exact. A sidecar agent's file gives
 * only a lower bound (the agent may renew the lease past it), so only its passing counts there.
 */
export function hasExactExpiry(config: CredentialsConfig): boolean {
  return config.mode === 'vault' || isInitContainerMode(config);
}
