// RotatingPool over the MySQL driver, against a real MariaDB (Debian's, from the testbed)
// and OpenBao's mysql-database-plugin: a SELECT-only role rotated under load with zero
// failed queries, revocation leaving no user behind, and the driver's reading of real errors.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import mysql from 'mysql2/promise';
import { Registry } from 'prom-client';
import { VaultClient } from '@rotor/vault-client';
import { freePort, startMariaDb, startOpenBao, waitFor, vaultAdmin, type MariaDbServer, type OpenBaoDevServer } from '@rotor/testbed';
import { CredentialMetrics } from '../src/metrics.ts';
import { RotatingPool } from '../src/rotating-pool.ts';
import { VaultLeaseSource } from '../src/vault-lease-source.ts';
import { isDbCredentialsError } from '../src/errors.ts';
import type { DbCredentials } from '../src/credentials.ts';
import { classifyMysqlError, mysqlDriver } from '../src/drivers/mysql.ts';
import { startDatabase } from '../src/service-kit/start-database.ts';
import { QueryLoad, TokenRecordingVault, assertNoSecrets, assertRecoveryUnused, captureLogs, liveLeases, rotationsByReason, setUpAppRole, timerCount, until } from './fixtures.ts';

/** Vault's mysql-database-plugin names users `v-<display>-<role>-<random>-<time>`, cut to 32 characters: MariaDB takes 80. */
const SELECT_ONLY = `CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';
GRANT SELECT ON app.* TO '{{name}}'@'%';`;

const ROLES = {
  // Longer than the PostgreSQL test's 3s/7s: Vault truncates the last renewal to what is left of
  // max_ttl, and on a loaded 2-core machine opening and warming the next pool can take longer
  // than a 1 s remainder (the old user is then dropped under it and the refusal path runs).
  'rotating-role': { defaultTtl: '4s', maxTtl: '10s' },
};

describe('RotatingPool over the MySQL driver (real MariaDB and OpenBao)', { timeout: 300_000 }, () => {
  let db: MariaDbServer;
  let bao: OpenBaoDevServer;
  let root: VaultClient;
  let approle: { roleId: string; secretId: string };

  const admin = async <T>(fn: (c: mysql.Connection) => Promise<T>): Promise<T> => {
    const c = await mysql.createConnection(db.connection());
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  /** Users Vault created (the plugin's `v-` prefix) that MariaDB still holds. */
  const vaultUsers = (): Promise<string[]> =>
    admin(async (c) => (await c.query<mysql.RowDataPacket[]>(`SELECT User FROM mysql.user WHERE User LIKE 'v-%'`))[0].map((r) => String(r.User)));

  before(async () => {
    [db, bao] = await Promise.all([startMariaDb(), startOpenBao({ mode: 'dev' })]);
    await admin(async (c) => {
      await c.query('CREATE DATABASE app');
      await c.query('CREATE TABLE app.users (id INT NOT NULL PRIMARY KEY, title VARCHAR(255) NOT NULL, name VARCHAR(255))');
      await c.query(`INSERT INTO app.users (id, title, name) VALUES (1, 'sre', 'sakib'), (2, 'manager', 'hanifa')`);
    });
    root = new VaultClient({ address: bao.address, token: bao.rootToken });
    await vaultAdmin.enableMount(root, 'database', { type: 'database' });
    await vaultAdmin.writeConfig(root, 'mariadb', {
      pluginName: 'mysql-database-plugin',
      allowedRoles: Object.keys(ROLES),
      connectionUrl: db.vaultConnectionUrl(),
      username: db.superuser,
      password: db.superuserPassword,
    });
    for (const [name, ttl] of Object.entries(ROLES)) {
      await vaultAdmin.writeRole(root, name, { dbName: 'mariadb', creationStatements: [SELECT_ONLY], defaultTtl: ttl.defaultTtl, maxTtl: ttl.maxTtl });
    }
    approle = await setUpAppRole(root, 'app');
  });
  after(async () => {
    await Promise.all([db?.stop(), bao?.stop()]);
  });

  it('rotates a SELECT-only role under load with zero failed queries, and revocation leaves no user behind', async () => {
    const timersBefore = timerCount();
    const logs = captureLogs();
    const registry = new Registry();
    const metrics = new CredentialMetrics(registry);
    const vault = new TokenRecordingVault({ address: bao.address });
    const source = new VaultLeaseSource({ vault, login: { method: 'approle', ...approle }, role: 'rotating-role', metrics, logger: logs.logger });
    const issued: DbCredentials[] = [];
    source.subscribe((c) => issued.push(c));
    issued.push(await source.start());
    const pool = new RotatingPool({
      source,
      driver: mysqlDriver({ host: db.host, port: db.port, database: 'app', connectionLimit: 4, connectTimeout: 5_000 }),
      verifyQuery: 'SELECT id, title, name FROM users WHERE id = 1',
      metrics,
      logger: logs.logger,
    });
    await pool.start();
    // A failed assertion must not leave the pool and the source running (the file would hang).
    let stopped = false;
    try {
      const load = new QueryLoad(4, async (i = Math.random()) => {
        if (i < 0.75) {
          const { rows } = await pool.query<{ n: number }>('SELECT COUNT(*) AS n FROM users');
          assert.equal(Number(rows[0]?.n), 2);
        } else {
          await pool.transaction(async (tx) => {
            await tx.query('SELECT name FROM users WHERE id = ?', [1]);
            await tx.query('SELECT name FROM users WHERE id = ?', [2]);
          });
        }
      });
      try {
        await until('5 rotations', () => issued.length >= 6, 120_000);
        await until('the pool to follow the 5th rotation', () => pool.username === issued[5]?.username, 30_000);
      } finally {
        await load.stop();
      }
      assert.deepEqual(load.failures.slice(0, 3), [], `${load.failures.length} failed queries of ${load.ok + load.failures.length}`);
      assert.ok(load.ok > 100, `only ${load.ok} queries ran`);
      assert.equal(new Set(issued.map((c) => c.username)).size, issued.length, 'each rotation brings a new user');
      for (const c of issued) assert.ok(c.username.startsWith('v-') && c.username.length <= 32, `${c.username} fits the plugin's 32 characters`);
      assert.ok(((await rotationsByReason(registry))['renewal-truncated'] ?? 0) >= 5);
      await assertRecoveryUnused(registry, logs.text());

      // SELECT-only: a write is refused as a statement the user may not run, not as revoked credentials.
      const denied = await pool.query('DELETE FROM users').then(
        () => assert.fail('the SELECT-only user deleted rows'),
        (err: unknown) => err,
      );
      assert.equal((denied as { code?: string }).code, 'ER_TABLEACCESS_DENIED_ERROR');
      assert.deepEqual(classifyMysqlError(denied), { kind: 'permission-denied', breaksConnection: false });

      // Old leases are revoked once their pools drained: Vault drops their users.
      await waitFor('old leases revoked', async () => {
        const live = await liveLeases(root, 'rotating-role');
        return issued.slice(0, 5).every((c) => !live.includes(c.leaseId ?? '')) ? true : undefined;
      }, { timeoutMs: 30_000 });
      const remaining = await vaultUsers();
      for (const old of issued.slice(0, 5)) assert.ok(!remaining.includes(old.username), `user ${old.username} still exists`);

      stopped = true;
      await pool.stop();
      await source.stop();
      await assert.rejects(pool.query('SELECT 1'), (err) => isDbCredentialsError(err, 'DBCREDS_STOPPED'));
      assert.deepEqual(await liveLeases(root, 'rotating-role'), [], 'stop revokes the current lease');
      assert.deepEqual(await vaultUsers(), [], 'no Vault user left in mysql.user');
      await waitFor('no sessions of Vault users', async () => {
        const [rows] = await admin((c) => c.query<mysql.RowDataPacket[]>(`SELECT ID FROM information_schema.PROCESSLIST WHERE USER LIKE 'v-%'`));
        return rows.length === 0 ? true : undefined;
      }, { timeoutMs: 15_000 });
      await until('timers back to the baseline', () => timerCount() <= timersBefore, 20_000);
      assertNoSecrets(logs.text(), {
        'db password': issued.map((c) => c.password),
        'db superuser password': [db.superuserPassword],
        'approle secret id': [approle.secretId],
        'root token': [bao.rootToken],
        'vault token (approle login)': vault.tokens,
      });
    } finally {
      if (!stopped) {
        await pool.stop().catch(() => undefined);
        await source.stop().catch(() => undefined);
      }
    }
  });

  it('the service kit starts on it: ready, serving, and its lease revoked on stop', async () => {
    const db2 = await startDatabase({
      credentials: { mode: 'vault', address: bao.address, caCertPath: undefined, dbMount: 'database', dbRole: 'rotating-role', auth: { method: 'approle', mount: 'approle', ...approle } },
      driver: mysqlDriver({ host: db.host, port: db.port, database: 'app', connectionLimit: 2 }),
    });
    try {
      assert.deepEqual(await db2.readiness.check(), { ready: true });
      const { rows } = await db2.pool.query<{ name: string }>('SELECT name FROM users WHERE id = ?', [2]);
      assert.equal(rows[0]?.name, 'hanifa');
    } finally {
      await db2.stop();
    }
    assert.deepEqual(await liveLeases(root, 'rotating-role'), []);
    assert.deepEqual(await vaultUsers(), []);
  });

  it('reads real failures: a refused login, a killed session, a server that is not there', async () => {
    const refused = await mysql.createConnection(db.connection('nobody', 'wrong-password')).then(
      () => assert.fail('a wrong password logged in'),
      (err: unknown) => err,
    );
    assert.equal(classifyMysqlError(refused).kind, 'login-refused');

    // KILL CONNECTION under a running statement: MariaDB 10.11 closes the socket without a word,
    // so the client cannot tell whether the statement ran: the connection breaks, nothing re-runs.
    const victim = await mysql.createConnection(db.connection());
    victim.on('error', () => undefined);
    try {
      const [[{ id }]] = await victim.query<mysql.RowDataPacket[]>('SELECT CONNECTION_ID() AS id') as unknown as [[{ id: number }]];
      const running = victim.query('SELECT SLEEP(30)').then(
        () => assert.fail('the killed statement completed'),
        (err: unknown) => err,
      );
      await waitFor('the statement to run', async () => {
        const [rows] = await admin((c) => c.query<mysql.RowDataPacket[]>(`SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = ? AND INFO LIKE 'SELECT SLEEP%'`, [id]));
        return rows.length > 0 ? true : undefined;
      }, { timeoutMs: 10_000 });
      await admin((c) => c.query('KILL CONNECTION ?', [id]));
      const killed = await running;
      assert.equal((killed as { code?: string }).code, 'PROTOCOL_CONNECTION_LOST');
      assert.deepEqual(classifyMysqlError(killed), { kind: 'other', breaksConnection: true });
    } finally {
      victim.destroy();
    }

    const closedPort = await freePort('127.0.0.1');
    const unavailable = await mysql.createConnection({ host: '127.0.0.1', port: closedPort, user: 'nobody', password: 'x' }).then(
      () => assert.fail('connected to a closed port'),
      (err: unknown) => err,
    );
    assert.deepEqual(classifyMysqlError(unavailable), { kind: 'server-unavailable', breaksConnection: true });
  });
});
