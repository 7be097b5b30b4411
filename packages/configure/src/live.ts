import { z } from 'zod';
import { isVaultError, VaultErrorCode } from '@rotor/vault-client';
import type { VaultClient } from '@rotor/vault-client';
import type { Body } from './model.ts';

export interface LiveMount {
  type: string;
  /** description, default_lease_ttl, max_lease_ttl (seconds). */
  tuning: Body;
}

export interface LiveAudit {
  type: string;
  description: string;
  options: Record<string, string>;
}

export interface LiveConnection {
  /** plugin_name, connection_url, allowed_roles. */
  body: Body;
  /** Rotor's marker: fingerprint of the root credentials it last wrote (see fingerprint.ts). */
  credentialsFingerprint: string | undefined;
  /** Rotor's marker: root rotated since those credentials were written. */
  rootRotated: boolean;
}

/**
 * What Vault holds, for the kinds Rotor manages. Resources under a mount are
 * keyed by mount path, then name, and are read only for mounts the file
 * declares with the same type.
 */
export interface LiveState {
  audit: Map<string, LiveAudit>;
  authMounts: Map<string, LiveMount>;
  kubernetesConfigs: Map<string, Body>;
  policies: Map<string, string>;
  secretMounts: Map<string, LiveMount>;
  connections: Map<string, Map<string, LiveConnection>>;
  databaseRoles: Map<string, Map<string, Body>>;
  authRoles: Map<string, Map<string, Body>>;
  /** The auth mount the applying token logged in through (undefined for a token-method token). */
  loginMount?: string;
}

export function emptyLiveState(): LiveState {
  return {
    audit: new Map(),
    authMounts: new Map(),
    kubernetesConfigs: new Map(),
    policies: new Map(),
    secretMounts: new Map(),
    connections: new Map(),
    databaseRoles: new Map(),
    authRoles: new Map(),
  };
}

const dataBody = z.object({ data: z.record(z.string(), z.unknown()) }).transform((r) => r.data);
const listKeys = z.object({ data: z.object({ keys: z.array(z.string()) }) }).transform((r) => r.data.keys);

/** The `data` of a read, or undefined when nothing is there. */
export async function readBody(client: VaultClient, path: string): Promise<Body | undefined> {
  return unlessNotFound(client.request('GET', path, { schema: dataBody }));
}

/** The names under a path (LIST); none when the path is empty. */
export async function listNames(client: VaultClient, path: string): Promise<string[]> {
  return (await unlessNotFound(client.request('LIST', path, { schema: listKeys }))) ?? [];
}

/** Reads every name under `listPath` with `read`, a few at a time. */
export async function readAll<T>(names: readonly string[], read: (name: string) => Promise<T | undefined>): Promise<Map<string, T>> {
  const out = new Map<string, T>();
  const queue = [...names];
  const worker = async (): Promise<void> => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const value = await read(name);
      if (value !== undefined) out.set(name, value);
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, queue.length) }, worker));
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)));
}

async function unlessNotFound<T>(pending: Promise<T>): Promise<T | undefined> {
  try {
    return await pending;
  } catch (err) {
    if (isVaultError(err) && err.code === VaultErrorCode.NOT_FOUND) return undefined;
    throw err;
  }
}
