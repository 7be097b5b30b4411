// The admin calls that tests and benchmarks make to set a Vault up: secrets engines,
// auth methods, policies, database connections and roles, raft peers. Rotor's runtime never makes
// them (`rotor configure` applies a plan of raw paths), so they live here and not in
// @rotor/vault-client (docs/architecture.md, Decisions). Import as `vaultAdmin` from @rotor/testbed.
import { TestbedError } from './errors.ts';

type Method = 'GET' | 'LIST' | 'POST' | 'PUT' | 'DELETE';

/**
 * The one call these make: @rotor/vault-client's VaultClient (any VaultRequester) is one. Restated
 * rather than imported, because vault-client's own tests import the testbed.
 */
export interface VaultAdminClient {
  exchange(
    method: Method,
    path: string,
    options?: { body?: unknown; idempotent?: boolean; acceptStatuses?: readonly number[] },
  ): Promise<{ status: number; body: unknown }>;
}

export interface EnableMountInput {
  type: string;
  description?: string;
  /** Tuning, camelCase or snake_case keys, e.g. { defaultLeaseTtl: '1h' }. */
  config?: Record<string, unknown>;
  /** Engine options, e.g. { version: '2' } for kv. */
  options?: Record<string, string>;
  local?: boolean;
  sealWrap?: boolean;
}

export interface EnableAuthInput {
  type: string;
  description?: string;
  config?: Record<string, unknown>;
  local?: boolean;
}

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

export interface DatabaseConfig {
  pluginName: string;
  pluginVersion: string;
  /** connectionUrl, username, maxOpenConnections, ... (never the password: Vault does not return it). */
  connectionDetails: Record<string, unknown>;
  allowedRoles: string[];
  rootCredentialsRotateStatements: string[];
  passwordPolicy: string;
  verifyConnection: boolean;
}

export interface DatabaseRole {
  dbName: string;
  creationStatements: string[];
  revocationStatements: string[];
  rollbackStatements: string[];
  renewStatements: string[];
  /** Seconds; 0 means the mount's default. */
  defaultTtl: number;
  maxTtl: number;
  credentialType: string;
}

const segment = encodeURIComponent;

/** Vault speaks snake_case: camelCase keys are converted, snake_case ones pass, undefined values are dropped. */
function snakeBody(obj: Record<string, unknown>): Record<string, unknown> {
  const entries = Object.entries(obj).filter(([, v]) => v !== undefined);
  return Object.fromEntries(entries.map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]));
}

async function send(vault: VaultAdminClient, method: Method, path: string, body?: unknown, idempotent?: boolean): Promise<void> {
  await vault.exchange(method, path, { body, idempotent });
}

/**
 * The `data` of a GET or LIST, or undefined for Vault's bare 404 (nothing there). A 404 that
 * carries Vault's errors[] (no such mount) still fails.
 */
async function readData(vault: VaultAdminClient, method: 'GET' | 'LIST', path: string): Promise<Record<string, unknown> | undefined> {
  const { status, body } = await vault.exchange(method, path, { acceptStatuses: [404] });
  const answer = (body ?? {}) as { data?: unknown; errors?: unknown };
  if (status === 404) {
    const errors = Array.isArray(answer.errors) ? answer.errors.map(String) : [];
    if (errors.length === 0) return undefined;
    throw new TestbedError('VAULT_NOT_FOUND', `${method} ${path}: 404 ${errors.join('; ')}`);
  }
  if (typeof answer.data !== 'object' || answer.data === null) throw new TestbedError('VAULT_ANSWER', `${method} ${path}: an answer without data`);
  return answer.data as Record<string, unknown>;
}

function text(data: Record<string, unknown>, key: string, fallback?: string): string {
  const value = data[key] ?? fallback;
  if (typeof value !== 'string') throw new TestbedError('VAULT_ANSWER', `${key}: expected a string`);
  return value;
}

function seconds(data: Record<string, unknown>, key: string): number {
  const value = data[key];
  if (typeof value !== 'number') throw new TestbedError('VAULT_ANSWER', `${key}: expected a number`);
  return value;
}

/** Vault answers an unset statement list as null. */
function strings(data: Record<string, unknown>, key: string): string[] {
  const value = data[key] ?? [];
  if (!Array.isArray(value)) throw new TestbedError('VAULT_ANSWER', `${key}: expected a list`);
  return value.map(String);
}

function mountBody(input: EnableMountInput | EnableAuthInput): Record<string, unknown> {
  const { config, ...rest } = input;
  return snakeBody({ ...rest, config: config === undefined ? undefined : snakeBody(config) });
}

// ---- sys: secrets engines, auth methods, policies, raft ------------------------------

export async function enableMount(vault: VaultAdminClient, path: string, input: EnableMountInput): Promise<void> {
  await send(vault, 'POST', `sys/mounts/${path}`, mountBody(input));
}

export async function tuneMount(vault: VaultAdminClient, path: string, config: Record<string, unknown>): Promise<void> {
  await send(vault, 'POST', `sys/mounts/${path}/tune`, snakeBody(config), true);
}

export async function disableMount(vault: VaultAdminClient, path: string): Promise<void> {
  await send(vault, 'DELETE', `sys/mounts/${path}`);
}

export async function enableAuth(vault: VaultAdminClient, path: string, input: EnableAuthInput): Promise<void> {
  await send(vault, 'POST', `sys/auth/${path}`, mountBody(input));
}

export async function disableAuth(vault: VaultAdminClient, path: string): Promise<void> {
  await send(vault, 'DELETE', `sys/auth/${path}`);
}

export async function writePolicy(vault: VaultAdminClient, name: string, hcl: string): Promise<void> {
  await send(vault, 'PUT', `sys/policies/acl/${segment(name)}`, { policy: hcl }, true);
}

export async function deletePolicy(vault: VaultAdminClient, name: string): Promise<void> {
  await send(vault, 'DELETE', `sys/policies/acl/${segment(name)}`);
}

export async function raftRemovePeer(vault: VaultAdminClient, nodeId: string): Promise<void> {
  await send(vault, 'POST', 'sys/storage/raft/remove-peer', { server_id: nodeId }, true);
}

// ---- the database secrets engine: connections and roles -----------------------------

/** Writes a connection; Vault verifies it against the database unless verifyConnection is false. */
export async function writeConfig(vault: VaultAdminClient, name: string, body: DatabaseConfigInput, mount = 'database'): Promise<void> {
  await send(vault, 'POST', `${mount}/config/${segment(name)}`, snakeBody(body), true);
}

export async function readConfig(vault: VaultAdminClient, name: string, mount = 'database'): Promise<DatabaseConfig | undefined> {
  const c = await readData(vault, 'GET', `${mount}/config/${segment(name)}`);
  if (c === undefined) return undefined;
  const details = (c.connection_details ?? {}) as Record<string, unknown>;
  return {
    pluginName: text(c, 'plugin_name'),
    pluginVersion: text(c, 'plugin_version', ''),
    connectionDetails: Object.fromEntries(Object.entries(details).map(([k, v]) => [k.replace(/_([a-z0-9])/g, (_, ch: string) => ch.toUpperCase()), v])),
    allowedRoles: strings(c, 'allowed_roles'),
    rootCredentialsRotateStatements: strings(c, 'root_credentials_rotate_statements'),
    passwordPolicy: text(c, 'password_policy', ''),
    verifyConnection: c.verify_connection !== false,
  };
}

export async function listConfigs(vault: VaultAdminClient, mount = 'database'): Promise<string[]> {
  const data = await readData(vault, 'LIST', `${mount}/config`);
  return data === undefined ? [] : strings(data, 'keys');
}

export async function deleteConfig(vault: VaultAdminClient, name: string, mount = 'database'): Promise<void> {
  await send(vault, 'DELETE', `${mount}/config/${segment(name)}`);
}

export async function writeRole(vault: VaultAdminClient, name: string, body: DatabaseRoleInput, mount = 'database'): Promise<void> {
  await send(vault, 'POST', `${mount}/roles/${segment(name)}`, snakeBody(body), true);
}

export async function readRole(vault: VaultAdminClient, name: string, mount = 'database'): Promise<DatabaseRole | undefined> {
  const r = await readData(vault, 'GET', `${mount}/roles/${segment(name)}`);
  if (r === undefined) return undefined;
  return {
    dbName: text(r, 'db_name'),
    creationStatements: strings(r, 'creation_statements'),
    revocationStatements: strings(r, 'revocation_statements'),
    rollbackStatements: strings(r, 'rollback_statements'),
    renewStatements: strings(r, 'renew_statements'),
    defaultTtl: seconds(r, 'default_ttl'),
    maxTtl: seconds(r, 'max_ttl'),
    credentialType: text(r, 'credential_type', 'password'),
  };
}

export async function deleteRole(vault: VaultAdminClient, name: string, mount = 'database'): Promise<void> {
  await send(vault, 'DELETE', `${mount}/roles/${segment(name)}`);
}
