// The user's seed flow, persona by persona, against a real OpenBao and a real
// PostgreSQL: DB admin creates the table, Vault admin configures the database
// engine, the service connects with generated SELECT-only credentials.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startOpenBao, startPostgres, waitFor, type OpenBaoDevServer, type PostgresServer } from '../src/index.ts';
import { vault, vaultOk } from './vault-http.ts';

const SELECT_ONLY = `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';
GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";`;

interface Creds {
  lease_id: string;
  data: { username: string; password: string };
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function sqlstate(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

describe('seed flow: database secrets engine on PostgreSQL', { timeout: 120_000 }, () => {
  let db: PostgresServer;
  let bao: OpenBaoDevServer;

  before(async () => {
    [db, bao] = await Promise.all([startPostgres(), startOpenBao({ mode: 'dev' })]);
  });
  after(async () => {
    await Promise.all([db?.stop(), bao?.stop()]);
  });

  it('DB admin creates the users table with the two seed rows', async () => {
    await withClient(db.url(), async (c) => {
      await c.query(`CREATE TABLE users (
        id serial NOT NULL UNIQUE,
        title varchar(255) NOT NULL,
        name varchar(255))`);
      await c.query(`INSERT INTO users(id, title, name) VALUES (1, 'sre', 'sakib'), (2, 'manager', 'hanifa')`);
      await c.query(`SELECT setval('users_id_seq', 2)`);
    });
  });

  it('Vault admin configures the engine; the service reads with SELECT-only credentials', async () => {
    const t = bao.rootToken;
    await vaultOk(bao.address, t, 'POST', 'sys/mounts/database', { type: 'database' });
    await vaultOk(bao.address, t, 'POST', 'database/config/postgres', {
      plugin_name: 'postgresql-database-plugin',
      allowed_roles: 'db-reader-role',
      connection_url: db.vaultConnectionUrl(),
      username: db.superuser,
      password: db.superuserPassword,
    });
    await vaultOk(bao.address, t, 'POST', 'database/roles/db-reader-role', {
      db_name: 'postgres',
      creation_statements: SELECT_ONLY,
      default_ttl: '1h',
    });
    const creds = await vaultOk<Creds>(bao.address, t, 'GET', 'database/creds/db-reader-role');
    // Vault names users v-<auth method>-<role, truncated>-<random>-<timestamp>.
    assert.match(creds.data.username, /^v-\w+-db-reade-/);
    assert.ok(creds.lease_id.startsWith('database/creds/db-reader-role/'));

    await withClient(db.url(creds.data.username, creds.data.password), async (c) => {
      const { rows } = await c.query('SELECT id, title, name FROM users ORDER BY id');
      assert.deepEqual(rows, [
        { id: 1, title: 'sre', name: 'sakib' },
        { id: 2, title: 'manager', name: 'hanifa' },
      ]);
      assert.equal(await sqlstate(c.query(`INSERT INTO users(title, name) VALUES ('x', 'y')`)), '42501');
      assert.equal(await sqlstate(c.query(`UPDATE users SET name = 'z' WHERE id = 1`)), '42501');
    });
  });

  it('a role outside allowed_roles is refused', async () => {
    const t = bao.rootToken;
    await vaultOk(bao.address, t, 'POST', 'database/roles/not-allowed', {
      db_name: 'postgres',
      creation_statements: SELECT_ONLY,
    });
    const { status } = await vault(bao.address, t, 'GET', 'database/creds/not-allowed');
    assert.ok(status >= 400, `expected refusal, got ${status}`);
  });

  it('rotate-root: the original superuser password fails, issued credentials keep working', async () => {
    const t = bao.rootToken;
    await vaultOk(bao.address, t, 'POST', 'database/rotate-root/postgres', {});
    assert.equal(await sqlstate(withClient(db.url(), (c) => c.query('select 1'))), '28P01');
    const creds = await vaultOk<Creds>(bao.address, t, 'GET', 'database/creds/db-reader-role');
    const { rows } = await withClient(db.url(creds.data.username, creds.data.password), (c) =>
      c.query('SELECT count(*)::int AS n FROM users'),
    );
    assert.deepEqual(rows, [{ n: 2 }]);
  });

  it('revoking a lease makes that user unable to log in', async () => {
    const t = bao.rootToken;
    const creds = await vaultOk<Creds>(bao.address, t, 'GET', 'database/creds/db-reader-role');
    const url = db.url(creds.data.username, creds.data.password);
    await withClient(url, (c) => c.query('select 1'));
    await vaultOk(bao.address, t, 'PUT', 'sys/leases/revoke', { lease_id: creds.lease_id });
    // Revocation drops the role; a login with it must now fail with "invalid password".
    await waitFor('revoked user to be refused', async () => ((await sqlstate(withClient(url, (c) => c.query('select 1')))) === '28P01' ? true : undefined), {
      timeoutMs: 10_000,
    });
  });
});
