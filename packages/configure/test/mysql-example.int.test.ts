// docs/configure.md's MySQL example, applied as written (only the host points at the
// testbed's MariaDB) to a real OpenBao: Vault takes the root user over, the reader role's
// users can SELECT and nothing more, a revoked lease leaves no user, and a second plan is empty.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { startMariaDb, startOpenBao, waitFor, vaultAdmin, type MariaDbServer, type OpenBaoDevServer } from '@rotor/testbed';
import { VaultClient } from '@rotor/vault-client';
import { applyPlan, parseConfig, planChanges, readLiveState, writeCount } from '../src/index.ts';

const doc = readFileSync(new URL('../../../docs/configure.md', import.meta.url), 'utf8');
const example = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '').find((block) => block.includes('mysql-database-plugin'));
const ADMIN = 'vault-admin';

describe('the MySQL example against OpenBao and MariaDB', { timeout: 180_000 }, () => {
  let db: MariaDbServer;
  let bao: OpenBaoDevServer;
  const adminPassword = `initial-${Math.random().toString(36).slice(2)}`;

  const asSuperuser = async <T>(fn: (c: mysql.Connection) => Promise<T>): Promise<T> => {
    const c = await mysql.createConnection(db.connection());
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  /** The error code of `sql` run as a login, or undefined when it succeeds. */
  const errorCode = async (user: string, password: string, sql: string): Promise<string | undefined> => {
    try {
      const c = await mysql.createConnection(db.connection(user, password, 'app'));
      try {
        await c.query(sql);
        return undefined;
      } finally {
        await c.end();
      }
    } catch (err) {
      return String((err as { code?: unknown }).code);
    }
  };
  const exampleFor = (server: MariaDbServer): string => {
    assert.ok(example, 'docs/configure.md has a yaml block with mysql-database-plugin');
    return example.replace('mysql.db.svc:3306', `${server.host}:${server.port}`);
  };
  const run = async (): Promise<number> => {
    const client = new VaultClient({ address: bao.address, token: bao.rootToken });
    const desired = parseConfig(exampleFor(db), 'configure.md', { env: { MYSQL_ROOT_PASSWORD: adminPassword } });
    const plan = planChanges(desired, await readLiveState(client, desired), { prune: false });
    await applyPlan(client, plan);
    return writeCount(plan);
  };

  before(async () => {
    [db, bao] = await Promise.all([startMariaDb(), startOpenBao({ mode: 'dev' })]);
    await asSuperuser(async (c) => {
      // The operator's part: the admin user the example hands Vault, and the app's data.
      await c.query(`CREATE USER ?@'%' IDENTIFIED BY ?`, [ADMIN, adminPassword]);
      await c.query(`GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION`, [ADMIN]);
      await c.query('CREATE DATABASE app');
      await c.query('CREATE TABLE app.users (id INT NOT NULL PRIMARY KEY, title VARCHAR(255) NOT NULL, name VARCHAR(255))');
      await c.query(`INSERT INTO app.users VALUES (1, 'sre', 'sakib'), (2, 'manager', 'hanifa')`);
    });
    const root = new VaultClient({ address: bao.address, token: bao.rootToken });
    await vaultAdmin.enableMount(root, 'database', { type: 'database' });
  });
  after(async () => {
    await Promise.all([db?.stop(), bao?.stop()]);
  });

  it('applies, issues SELECT-only users, revokes them without a trace, and plans nothing more', async () => {
    assert.ok((await run()) > 0, 'the first plan writes');
    assert.equal(await errorCode(ADMIN, adminPassword, 'SELECT 1'), 'ER_ACCESS_DENIED_ERROR', 'rotate_root: only Vault knows the admin password now');

    const root = new VaultClient({ address: bao.address, token: bao.rootToken });
    const lease = await root.database.creds('db-reader-role');
    const { username, password } = lease.data;
    assert.ok(username.length <= 32, `${username} fits the plugin's default template (32 characters)`);
    assert.equal(await errorCode(username, password, 'SELECT name FROM users WHERE id = 1'), undefined);
    assert.equal(await errorCode(username, password, `INSERT INTO users VALUES (3, 'x', 'y')`), 'ER_TABLEACCESS_DENIED_ERROR');

    await root.sys.revokeLease(lease.leaseId);
    await waitFor('the revoked user gone from mysql.user', async () => {
      const [rows] = await asSuperuser((c) => c.query<mysql.RowDataPacket[]>('SELECT 1 FROM mysql.user WHERE User = ?', [username]));
      return rows.length === 0 ? true : undefined;
    }, { timeoutMs: 15_000 });
    assert.equal(await errorCode(username, password, 'SELECT 1'), 'ER_ACCESS_DENIED_ERROR');

    assert.equal(await run(), 0, 'a second run writes nothing: Vault reads back what the example wrote');
  });
});
