import { z } from 'zod';
import { requestBody, unlessNotFound, type VaultRequester } from './requests.ts';
import { camelKeys, snakeKeys } from './keys.ts';
import { dataOf, listKeys, looseRecord } from './schemas.ts';
import { withSecrets } from './secret.ts';

/** A secret with a lease: renew it with sys.renewLease, revoke it with sys.revokeLease. */
export interface Lease<T> {
  leaseId: string;
  /** Seconds. */
  leaseDuration: number;
  renewable: boolean;
  data: T;
}

/** `password` is non-enumerable: logging the object shows only the username. */
export interface DatabaseCredentials {
  username: string;
  readonly password: string;
}

const credsSchema = z
  .object({
    lease_id: z.string(),
    lease_duration: z.number(),
    renewable: z.boolean(),
    data: z.object({ username: z.string(), password: z.string() }),
  })
  .transform(
    (r): Lease<DatabaseCredentials> => ({
      leaseId: r.lease_id,
      leaseDuration: r.lease_duration,
      renewable: r.renewable,
      data: withSecrets({ username: r.data.username }, { password: r.data.password }),
    }),
  );

/** Body of database/config/<name>; camelCase or snake_case keys, plugin-specific extras allowed. */
export interface DatabaseConfigInput {
  pluginName: string;
  connectionUrl: string;
  username?: string;
  password?: string;
  allowedRoles?: string[];
  verifyConnection?: boolean;
  rootRotationStatements?: string[];
  passwordPolicy?: string;
  [key: string]: unknown;
}

const statements = z
  .array(z.string())
  .nullish()
  .transform((s) => s ?? []);

const configSchema = dataOf(
  z.object({
    plugin_name: z.string(),
    plugin_version: z.string().default(''),
    connection_details: looseRecord.nullish().transform((c) => camelKeys(c ?? {})),
    allowed_roles: statements,
    root_credentials_rotate_statements: statements,
    password_policy: z.string().default(''),
    verify_connection: z.boolean().default(true),
  }),
).transform((c) => ({
  pluginName: c.plugin_name,
  pluginVersion: c.plugin_version,
  /** connectionUrl, username, maxOpenConnections, ... (never the password: Vault does not return it). */
  connectionDetails: c.connection_details,
  allowedRoles: c.allowed_roles,
  rootCredentialsRotateStatements: c.root_credentials_rotate_statements,
  passwordPolicy: c.password_policy,
  verifyConnection: c.verify_connection,
}));

export type DatabaseConfig = z.output<typeof configSchema>;

/** Body of database/roles/<name>; TTLs as seconds or Vault duration strings ('1h'). */
export interface DatabaseRoleInput {
  dbName: string;
  creationStatements: string[];
  revocationStatements?: string[];
  rollbackStatements?: string[];
  renewStatements?: string[];
  defaultTtl?: number | string;
  maxTtl?: number | string;
  [key: string]: unknown;
}

const roleSchema = dataOf(
  z.object({
    db_name: z.string(),
    creation_statements: statements,
    revocation_statements: statements,
    rollback_statements: statements,
    renew_statements: statements,
    default_ttl: z.number(),
    max_ttl: z.number(),
    credential_type: z.string().default('password'),
  }),
).transform((r) => ({
  dbName: r.db_name,
  creationStatements: r.creation_statements,
  revocationStatements: r.revocation_statements,
  rollbackStatements: r.rollback_statements,
  renewStatements: r.renew_statements,
  /** Seconds; 0 means the mount's default. */
  defaultTtl: r.default_ttl,
  maxTtl: r.max_ttl,
  credentialType: r.credential_type,
}));

export type DatabaseRole = z.output<typeof roleSchema>;

/** The database secrets engine: connections, roles, dynamic credentials, root rotation. */
export class DatabaseApi {
  readonly #client: VaultRequester;

  constructor(client: VaultRequester) {
    this.#client = client;
  }

  /** Writes a connection; Vault verifies it against the database unless verifyConnection is false. */
  async writeConfig(name: string, body: DatabaseConfigInput, mount = 'database'): Promise<void> {
    await this.#client.request('POST', `${mount}/config/${encodeURIComponent(name)}`, { body: snakeKeys(body), idempotent: true });
  }

  async readConfig(name: string, mount = 'database'): Promise<DatabaseConfig | undefined> {
    return unlessNotFound(this.#client.request('GET', `${mount}/config/${encodeURIComponent(name)}`, { schema: configSchema }));
  }

  async listConfigs(mount = 'database'): Promise<string[]> {
    return (await unlessNotFound(this.#client.request('LIST', `${mount}/config`, { schema: listKeys }))) ?? [];
  }

  async deleteConfig(name: string, mount = 'database'): Promise<void> {
    await this.#client.request('DELETE', `${mount}/config/${encodeURIComponent(name)}`);
  }

  async writeRole(name: string, body: DatabaseRoleInput, mount = 'database'): Promise<void> {
    await this.#client.request('POST', `${mount}/roles/${encodeURIComponent(name)}`, { body: snakeKeys(body), idempotent: true });
  }

  async readRole(name: string, mount = 'database'): Promise<DatabaseRole | undefined> {
    return unlessNotFound(this.#client.request('GET', `${mount}/roles/${encodeURIComponent(name)}`, { schema: roleSchema }));
  }

  async listRoles(mount = 'database'): Promise<string[]> {
    return (await unlessNotFound(this.#client.request('LIST', `${mount}/roles`, { schema: listKeys }))) ?? [];
  }

  async deleteRole(name: string, mount = 'database'): Promise<void> {
    await this.#client.request('DELETE', `${mount}/roles/${encodeURIComponent(name)}`);
  }

  /**
   * Issues new credentials (a new database user) under a lease. Although a
   * GET, it is not idempotent: a retry after a lost answer would create a
   * second user whose lease nobody holds, so it is retried only when Vault
   * certainly did not process it.
   */
  async creds(role: string, mount = 'database'): Promise<Lease<DatabaseCredentials>> {
    return requestBody(this.#client, 'GET', `${mount}/creds/${encodeURIComponent(role)}`, { schema: credsSchema, idempotent: false });
  }

  /** Rotates the connection's root password; afterwards only Vault knows it. */
  async rotateRoot(connection: string, mount = 'database'): Promise<void> {
    await this.#client.request('POST', `${mount}/rotate-root/${encodeURIComponent(connection)}`);
  }
}
