// The reads behind `rotor leases` and `rotor rotate`: a role's leases from
// Vault (listing leases needs sudo on sys/leases/lookup), and the v-* users
// from PostgreSQL's pg_roles (readable by any login).
import pg from 'pg';
import { z } from 'zod';
import { unlessNotFound, type VaultClient } from '@rotor/vault-client';
import type { DbUser, LeaseRecord } from './match.ts';

const keysSchema = z.object({ data: z.object({ keys: z.array(z.string()) }) }).transform((a) => a.data.keys);

async function listOrEmpty(client: VaultClient, path: string): Promise<string[]> {
  return (await unlessNotFound(client.request('LIST', path, { schema: keysSchema }), { evenWithErrors: true })) ?? [];
}

const date = (text: string | undefined): Date | undefined => {
  if (!text) return undefined;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? undefined : d;
};

/** Every live lease of `<mount>/creds/<role>`, looked up for its TTL and times. */
export async function readRoleLeases(client: VaultClient, mount: string, role: string): Promise<LeaseRecord[]> {
  const prefix = `${mount}/creds/${role}`;
  const keys = (await listOrEmpty(client, `sys/leases/lookup/${prefix}`)).filter((k) => !k.endsWith('/'));
  const leases = await Promise.all(
    keys.map(async (key) => {
      const leaseId = `${prefix}/${key}`;
      const info = await client.sys.lookupLease(leaseId);
      if (!info) return undefined; // ended between the list and the lookup
      const issueTime = date(info.issueTime);
      const expireTime = date(info.expireTime);
      return { role, leaseId, ttl: info.ttl, ...(issueTime ? { issueTime } : {}), ...(expireTime ? { expireTime } : {}) } satisfies LeaseRecord;
    }),
  );
  return leases.filter((l): l is LeaseRecord => l !== undefined).sort((a, b) => (a.issueTime?.getTime() ?? 0) - (b.issueTime?.getTime() ?? 0));
}

export async function readRoles(client: VaultClient, mount: string): Promise<string[]> {
  return (await client.database.listRoles(mount)).sort();
}

/**
 * The users Vault's default username template makes (v-...). `url` is a
 * postgresql:// URL; without one, libpq's PG* variables apply (node-postgres
 * reads them too).
 */
export async function readDbUsers(url: string | undefined): Promise<DbUser[]> {
  const client = new pg.Client({ ...(url !== undefined ? { connectionString: url } : {}), connectionTimeoutMillis: 5_000, application_name: 'rotor leases' });
  await client.connect();
  try {
    const { rows } = await client.query<{ rolname: string; rolvaliduntil: Date | number | null; oid: string }>(
      `SELECT rolname, rolvaliduntil, oid::text FROM pg_catalog.pg_roles WHERE rolname LIKE 'v-%' ORDER BY oid`,
    );
    // node-postgres reads VALID UNTIL 'infinity' as the number Infinity: no expiry to compare.
    return rows.map((r) => ({ name: r.rolname, oid: Number(r.oid), ...(r.rolvaliduntil instanceof Date && Number.isFinite(r.rolvaliduntil.getTime()) ? { validUntil: r.rolvaliduntil } : {}) }));
  } finally {
    await client.end().catch(() => undefined);
  }
}
