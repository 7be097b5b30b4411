// Shared by the configure integration tests (and the CLI's): the shipped
// deploy/vault/config.yaml, pointed at the testbed's servers, and a client
// that counts the write requests it sends to the real OpenBao.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { parseDocument } from 'yaml';
import { VaultClient } from '@rotor/vault-client';
import type { PostgresServer } from '@rotor/testbed';

export const SHIPPED_CONFIG = fileURLToPath(new URL('../../../deploy/vault/config.yaml', import.meta.url));
const KUBERNETES_CA = fileURLToPath(new URL('./fixtures/kubernetes-ca.crt', import.meta.url));

/**
 * A copy of deploy/vault/config.yaml (policy files included) in a temp dir,
 * with the connection URL and superuser of `db` and a Kubernetes API outside the cluster:
 * Vault accepts any host at config time; logins are the kubernetes-auth tests' job.
 */
export function shippedConfigFor(db: PostgresServer): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-configure-'));
  cpSync(join(SHIPPED_CONFIG, '..', 'policies'), join(dir, 'policies'), { recursive: true });
  const doc = parseDocument(readFileSync(SHIPPED_CONFIG, 'utf8'));
  doc.setIn(['secrets', 0, 'connections', 0, 'connection_url'], db.vaultConnectionUrl());
  // The cluster's DB-admin Job makes vault_admin; here Vault gets the testbed's superuser (PG_ROOT_PASSWORD).
  doc.setIn(['secrets', 0, 'connections', 0, 'username'], db.superuser);
  doc.setIn(['auth', 0, 'config', 'kubernetes_host'], 'https://127.0.0.1:6443');
  doc.setIn(['auth', 0, 'config', 'kubernetes_ca_cert'], doc.createNode({ fromFile: KUBERNETES_CA }));
  doc.setIn(['auth', 0, 'config', 'disable_local_ca_jwt'], true);
  const file = join(dir, 'config.yaml');
  writeFileSync(file, doc.toString());
  return { dir, file };
}

export interface CountingClient {
  client: VaultClient;
  /** Write requests (anything but GET) sent so far, as "METHOD path". */
  writes: string[];
}

export function countingClient(address: string, token: string): CountingClient {
  const writes: string[] = [];
  const client = new VaultClient({
    address,
    token,
    fetch: (url, init) => {
      if (init.method !== 'GET') writes.push(`${init.method} ${new URL(url).pathname.replace(/^\/v1\//, '')}`);
      return fetch(url, init);
    },
  });
  return { client, writes };
}

/** Runs `sql` as the given login and returns the SQLSTATE of the failure, or undefined on success. */
export async function sqlstate(url: string, sql: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query(sql);
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The seed's table and rows, created by the DB admin before Vault is configured. */
export async function createUsersTable(db: PostgresServer): Promise<void> {
  const client = new pg.Client({ connectionString: db.url() });
  await client.connect();
  try {
    await client.query('CREATE TABLE users (id serial NOT NULL UNIQUE, title varchar(255) NOT NULL, name varchar(255))');
    await client.query(`INSERT INTO users(title, name) VALUES ('sre', 'sakib'), ('manager', 'hanifa')`);
  } finally {
    await client.end();
  }
}
