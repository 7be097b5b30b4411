// Vault connected to PostgreSQL as a dedicated admin role with CREATEROLE, not a superuser, with
// deploy/vault/config.yaml's own creation and revocation statements: it issues working users, its
// own password rotates (rotate-root), and revoking a user that owns a temporary table in a
// session still open ends the session and drops the role: no v-* role is left behind.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { parse } from 'yaml';
import { startOpenBao, startPostgres, waitFor, type OpenBaoDevServer, type PostgresServer } from '@rotor/testbed';
import { VaultClient } from '@rotor/vault-client';

const SHIPPED = fileURLToPath(new URL('../../../deploy/vault/config.yaml', import.meta.url));
const ADMIN = 'vault_admin';

interface ShippedRole {
  name: string;
  creation_statements: string[];
  revocation_statements: string[];
}

/** What the DB admin runs once: the admin role Vault connects as, the seed's table, grants Vault may pass on. */
const DB_ADMIN_SQL = [
  `CREATE ROLE ${ADMIN} WITH LOGIN CREATEROLE NOSUPERUSER NOCREATEDB`,
  // Ends sessions of the roles it revokes (pg_terminate_backend); never a superuser's.
  `GRANT pg_signal_backend TO ${ADMIN}`,
  'CREATE TABLE users (id serial NOT NULL UNIQUE, title varchar(255) NOT NULL, name varchar(255))',
  `INSERT INTO users(title, name) VALUES ('sre', 'sakib'), ('manager', 'hanifa')`,
  `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${ADMIN} WITH GRANT OPTION`,
  `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${ADMIN} WITH GRANT OPTION`,
];

describe('Vault\'s PostgreSQL connection as a CREATEROLE admin role, not a superuser', { timeout: 180_000 }, () => {
  let db: PostgresServer;
  let bao: OpenBaoDevServer;
  let root: VaultClient;
  let adminPassword: string;

  async function asSuperuser<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
    const client = new pg.Client({ connectionString: db.url() });
    await client.connect();
    try {
      return (await client.query<T>(text, values)).rows;
    } finally {
      await client.end();
    }
  }

  before(async () => {
    [db, bao] = await Promise.all([startPostgres(), startOpenBao({ mode: 'dev' })]);
    for (const statement of DB_ADMIN_SQL) await asSuperuser(statement);
    adminPassword = randomBytes(18).toString('hex');
    await asSuperuser(`ALTER ROLE ${ADMIN} WITH PASSWORD '${adminPassword}'`);
    const shipped = (parse(readFileSync(SHIPPED, 'utf8')) as { secrets: { roles: ShippedRole[] }[] }).secrets[0]?.roles ?? [];
    root = new VaultClient({ address: bao.address, token: bao.rootToken });
    await root.request('POST', 'sys/mounts/database', { body: { type: 'database' } });
    await root.request('POST', 'database/config/postgres', {
      body: { plugin_name: 'postgresql-database-plugin', connection_url: db.vaultConnectionUrl(), username: ADMIN, password: adminPassword, allowed_roles: shipped.map((r) => r.name) },
    });
    for (const role of shipped) {
      await root.request('POST', `database/roles/${role.name}`, { body: { db_name: 'postgres', creation_statements: role.creation_statements, revocation_statements: role.revocation_statements, default_ttl: 600 } });
    }
  });

  after(async () => {
    await Promise.all([db?.stop(), bao?.stop()]);
  });

  it('the admin role is no superuser; rotate-root changes its password (the old one is refused)', async () => {
    assert.deepEqual(await asSuperuser('SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = $1', [ADMIN]), [{ rolsuper: false, rolcreaterole: true }]);
    await root.request('POST', 'database/rotate-root/postgres');
    const old = new pg.Client({ connectionString: db.url(ADMIN, adminPassword) });
    const refused = await old.connect().then(() => undefined, (err: Error & { code?: string }) => err.code);
    await old.end().catch(() => undefined);
    assert.equal(refused, '28P01', 'the pre-rotation password no longer logs in');
  });

  it('issues working users for both roles (reader SELECTs the seed rows, writer inserts)', async () => {
    const reader = (await root.database.creds('db-reader-role')).data;
    const client = new pg.Client({ connectionString: db.url(reader.username, reader.password) });
    await client.connect();
    try {
      assert.deepEqual((await client.query('SELECT id, title, name FROM users ORDER BY id')).rows, [{ id: 1, title: 'sre', name: 'sakib' }, { id: 2, title: 'manager', name: 'hanifa' }]);
    } finally {
      await client.end();
    }
    const writer = (await root.database.creds('db-writer-role')).data;
    const w = new pg.Client({ connectionString: db.url(writer.username, writer.password) });
    await w.connect();
    try {
      await w.query(`INSERT INTO users(title, name) VALUES ('dev', 'test')`);
    } finally {
      await w.end();
    }
  });

  it('revoking a user that owns a temp table in an open session ends the session and drops the role', async () => {
    const lease = await root.database.creds('db-reader-role');
    const client = new pg.Client({ connectionString: db.url(lease.data.username, lease.data.password) });
    const errors: string[] = [];
    client.on('error', (err: Error & { code?: string }) => errors.push(err.code ?? err.message));
    await client.connect();
    try {
      await client.query('CREATE TEMP TABLE scratch (n int)');
      const owned = await asSuperuser<{ n: number }>('SELECT count(*)::int AS n FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = $1', [lease.data.username]);
      assert.equal(owned[0]?.n, 1, 'the role owns the temporary table');
      await root.request('PUT', 'sys/leases/revoke', { body: { lease_id: lease.leaseId } });
      assert.deepEqual(await asSuperuser('SELECT 1 FROM pg_roles WHERE rolname = $1', [lease.data.username]), [], 'no orphan v-* role');
      await waitFor('the session to be terminated', () => Promise.resolve(errors.length > 0 ? true : undefined), { timeoutMs: 15_000 });
      assert.match(errors.join(','), /57P01/);
    } finally {
      await client.end().catch(() => undefined);
    }
    const left = await asSuperuser<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE 'v-%' AND rolname = $1`, [lease.data.username]);
    assert.deepEqual(left, []);
  });
});
