// RotatingPool against a real PostgreSQL, fed by AgentFileSource from files
// written like Vault Agent does (roles created by the DB admin): soft eviction,
// bad credentials never replace good ones, transactions, clean stop.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { startPostgres, waitFor, type PostgresServer } from '@rotor/testbed';
import { AgentFileSource } from '../src/agent-file-source.ts';
import { CredentialMetrics } from '../src/metrics.ts';
import { RotatingPool } from '../src/rotating-pool.ts';
import { isDbCredentialsError } from '../src/errors.ts';
import { assertNoSecrets, assertRecoveryUnused, captureLogs, rotationsByReason, until, withAdmin } from './fixtures.ts';

describe('RotatingPool (real PostgreSQL)', { timeout: 120_000 }, () => {
  let db: PostgresServer;
  let dir: string;
  const users = [1, 2, 3].map((n) => ({ username: `v-file-user-${n}`, password: `file-secret-${n}-${Math.random().toString(36).slice(2)}` }));

  before(async () => {
    db = await startPostgres();
    dir = mkdtempSync(join(tmpdir(), 'rotor-pool-'));
    await withAdmin(db, async (c) => {
      await c.query('CREATE TABLE users (id serial PRIMARY KEY, title varchar(255) NOT NULL, name varchar(255))');
      await c.query(`INSERT INTO users(title, name) VALUES ('sre', 'sakib'), ('manager', 'hanifa')`);
      for (const u of users) {
        await c.query(`CREATE ROLE "${u.username}" LOGIN PASSWORD '${u.password}'`);
        await c.query(`GRANT SELECT, INSERT ON users TO "${u.username}"`);
        await c.query(`GRANT USAGE ON SEQUENCE users_id_seq TO "${u.username}"`);
      }
    });
  });
  after(async () => {
    await db?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function render(u: { username: string; password: string }): void {
    const tmp = join(dir, '.creds.tmp');
    writeFileSync(tmp, JSON.stringify({ ...u, lease_id: `static/${u.username}`, lease_duration: 3600, renewable: false }));
    renameSync(tmp, join(dir, 'creds.json'));
  }

  async function backends(): Promise<Record<string, number>> {
    return withAdmin(db, async (c) => {
      const { rows } = await c.query<{ usename: string; n: number }>(`SELECT usename, count(*)::int AS n FROM pg_stat_activity WHERE usename LIKE 'v-file-%' GROUP BY usename`);
      return Object.fromEntries(rows.map((r) => [r.usename, r.n]));
    });
  }

  it('rotates softly, refuses bad credentials, and leaves no connection behind', async () => {
    const [u1, u2, u3] = users as [(typeof users)[0], (typeof users)[0], (typeof users)[0]];
    render(u1);
    const logs = captureLogs();
    const registry = new Registry();
    const metrics = new CredentialMetrics(registry);
    const source = new AgentFileSource({ path: join(dir, 'creds.json'), metrics, logger: logs.logger, debounceMs: 20 });
    await source.start();
    const pool = new RotatingPool({ source, pg: { host: db.host, port: db.port, database: 'postgres', max: 3 }, metrics, logger: logs.logger, verifyAttempts: 2 });
    await pool.start();
    assert.equal(pool.username, u1.username);

    // A slow query on the old pool survives the rotation (soft eviction).
    const slow = pool.query<{ who: string }>('SELECT current_user AS who, pg_sleep(1.5)');
    await waitFor('slow query running', async () => ((await backends())[u1.username] ? true : undefined), { timeoutMs: 10_000, intervalMs: 20 });
    render(u2);
    await until('rotation to user 2', () => pool.username === u2.username);
    assert.equal((await pool.query<{ who: string }>('SELECT current_user AS who')).rows[0]?.who, u2.username);
    assert.equal(pool.stats().generations, 2, 'old pool still draining');
    assert.equal((await slow).rows[0]?.who, u1.username);
    await until('old pool ended', () => pool.stats().generations === 1);
    await waitFor('no backend of user 1', async () => ((await backends())[u1.username] === undefined ? true : undefined), { timeoutMs: 10_000 });

    // Wrong password: verification fails, the good pool stays.
    const failures = async (): Promise<string> => (await registry.getSingleMetricAsString('rotor_db_credentials_rotation_failures_total'));
    render({ username: u3.username, password: 'wrong-password-xyz' });
    await waitFor('verification failure counted', async () => ((await failures()).includes('stage="verify"} 1') ? true : undefined), { timeoutMs: 20_000 });
    assert.equal(pool.username, u2.username);
    assert.equal((await pool.query('SELECT 1')).rowCount, 1);

    // Transactions commit and roll back on one connection.
    const id = await pool.transaction(async (tx) => {
      const { rows } = await tx.query<{ id: number }>(`INSERT INTO users(title, name) VALUES ('dev', 'tx') RETURNING id`);
      return rows[0]?.id;
    });
    assert.ok(typeof id === 'number');
    await assert.rejects(
      pool.transaction(async (tx) => {
        await tx.query(`INSERT INTO users(title, name) VALUES ('dev', 'rolled-back')`);
        throw new Error('abort');
      }),
      /abort/,
    );
    const names = (await pool.query<{ name: string }>('SELECT name FROM users ORDER BY id')).rows.map((r) => r.name);
    assert.deepEqual(names, ['sakib', 'hanifa', 'tx']);
    // A legitimate permission error is not mistaken for a revocation: no refresh, no retry.
    await assert.rejects(pool.query(`DELETE FROM users`), (err: { code?: string }) => err.code === '42501');
    assert.equal(pool.username, u2.username);

    assert.deepEqual(await rotationsByReason(registry), { 'file-changed': 1 }, 'one rotation, by the file');
    await assertRecoveryUnused(registry, logs.text());

    await pool.stop();
    await source.stop();
    await assert.rejects(pool.transaction(() => Promise.resolve()), (err) => isDbCredentialsError(err, 'DBCREDS_STOPPED'));
    assert.deepEqual(await backends(), {});
    assertNoSecrets(logs.text(), { 'db password': [...users.map((u) => u.password), 'wrong-password-xyz'] });
  });

  it('a statement runs once more for every terminated connection it meets, however many the pool held', async () => {
    // A shutdown or a revocation terminates every backend; the FATAL notices of idle
    // connections wait unread in their sockets, and the pool hands those connections out
    // again: each retry can meet the next one. Blocking the event loop while the server
    // terminates them all (a child process, run synchronously) makes that certain.
    const [u1] = users as [(typeof users)[0]];
    render(u1);
    const logs = captureLogs();
    const registry = new Registry();
    const metrics = new CredentialMetrics(registry);
    const source = new AgentFileSource({ path: join(dir, 'creds.json'), metrics, logger: logs.logger, debounceMs: 20 });
    await source.start();
    const max = 6;
    const pool = new RotatingPool({ source, pg: { host: db.host, port: db.port, database: 'postgres', max }, metrics, logger: logs.logger });
    await pool.start();
    try {
      for (let round = 1; round <= 3; round++) {
        await Promise.all(Array.from({ length: max }, () => pool.query('SELECT pg_sleep(0.05)')));
        assert.equal(pool.stats().idle, max, 'every connection idle before the termination');
        execFileSync(process.execPath, ['-e', TERMINATE_ALL, db.url(), u1.username], { cwd: dirname(fileURLToPath(import.meta.url)), stdio: 'inherit', timeout: 30_000 });
        const { rows } = await pool.query<{ who: string }>('SELECT current_user AS who');
        assert.equal(rows[0]?.who, u1.username, `round ${round}`);
      }
      const retried = await registry.getSingleMetricAsString('rotor_db_pool_retries_total');
      assert.match(retried, /reason="backend-terminated"} [1-9]/, 'the statements met terminated connections');
      await assertRecoveryUnused(registry, logs.text());
    } finally {
      await pool.stop();
      await source.stop();
    }
    assertNoSecrets(logs.text(), { 'db password': users.map((u) => u.password) });
  });
});

/** Child process: terminates every backend of a user and waits until the server shows none. */
const TERMINATE_ALL = `
const pg = require('pg');
const [url, user] = process.argv.slice(1);
(async () => {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [user]);
  for (const until = Date.now() + 20000; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
    const { rows } = await c.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1', [user]);
    if (rows[0].n === 0) return c.end();
  }
  throw new Error('backends still running');
})().catch((err) => { console.error(err); process.exit(1); });
`;
