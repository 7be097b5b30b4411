// `rotor leases` and `rotor rotate-root` against a real OpenBao database
// engine and a real PostgreSQL: every lease paired with the user it created,
// orphans both ways, and the root password rotated on demand.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startOpenBao, startPostgres, waitFor, vaultAdmin, type OpenBaoDevServer, type PostgresServer } from '@rotor/testbed';
import { VaultClient, type DatabaseCredentials, type Lease } from '@rotor/vault-client';
import type { LeasesReport } from '../src/commands/leases.ts';
import { rotor } from './cli.ts';

const READER = 'db-reader-role';
const WRITER = 'db-writer-role';

describe('rotor leases and rotor rotate-root (OpenBao + PostgreSQL)', { timeout: 240_000 }, () => {
  let db: PostgresServer;
  let bao: OpenBaoDevServer;
  let vault: VaultClient;
  let admin: pg.Pool;
  let env: Record<string, string>;
  let dbUrl: string;
  const leases: Array<Lease<DatabaseCredentials>> = [];

  before(async () => {
    [db, bao] = await Promise.all([startPostgres(), startOpenBao({ mode: 'dev' })]);
    admin = new pg.Pool({ connectionString: db.url(), max: 2 });
    admin.on('error', () => undefined);
    vault = new VaultClient({ address: bao.address, token: bao.rootToken });
    await admin.query('CREATE TABLE users (id serial PRIMARY KEY, title varchar(255) NOT NULL, name varchar(255))');
    await vaultAdmin.enableMount(vault, 'database', { type: 'database' });
    await vaultAdmin.writeConfig(vault, 'postgres', { pluginName: 'postgresql-database-plugin', allowedRoles: ['*'], connectionUrl: db.vaultConnectionUrl(), username: db.superuser, password: db.superuserPassword });
    const statements = (grant: string) => [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; ${grant}`];
    await vaultAdmin.writeRole(vault, READER, { dbName: 'postgres', creationStatements: statements('GRANT SELECT ON users TO "{{name}}";'), defaultTtl: 3600, maxTtl: 7200 });
    await vaultAdmin.writeRole(vault, WRITER, { dbName: 'postgres', creationStatements: statements('GRANT SELECT, INSERT ON users TO "{{name}}";'), defaultTtl: 600, maxTtl: 7200 });
    for (const role of [READER, READER, READER, WRITER]) leases.push(await vault.database.creds(role));
    env = { VAULT_ADDR: bao.address, VAULT_TOKEN: bao.rootToken, PGPASSWORD: db.superuserPassword };
    // No password in the URL (it would show in ps): PGPASSWORD carries it.
    dbUrl = `postgresql://${db.superuser}@${db.host}:${db.port}/${db.database}`;
  });
  after(async () => {
    await admin?.end().catch(() => undefined);
    await Promise.allSettled([db?.stop(), bao?.stop()]);
  });

  const report = async (args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number; report: LeasesReport; stderr: string }> => {
    const run = await rotor(['leases', '--json', ...args], { ...env, ...extraEnv });
    assert.ok(run.stdout.startsWith('{'), run.stdout + run.stderr);
    for (const l of leases) assert.ok(!run.stdout.includes(l.data.password) && !run.stderr.includes(l.data.password), 'a password reached the output');
    return { code: run.code, report: JSON.parse(run.stdout) as LeasesReport, stderr: run.stderr };
  };

  it('every lease with its TTL left, paired with the PostgreSQL user it created; no orphans: exit 0', async () => {
    const { code, report: r } = await report(['--db-url', dbUrl]);
    assert.equal(code, 0);
    assert.deepEqual(r.roles, [READER, WRITER]);
    assert.equal(r.leases.length, 4);
    for (const lease of leases) {
      const line = r.leases.find((l) => l.leaseId === lease.leaseId);
      assert.ok(line, lease.leaseId);
      assert.equal(line.databaseUser, lease.data.username, `${lease.leaseId} paired with its own user`);
      assert.ok(line.ttlSeconds > (line.role === READER ? 3500 : 500) && line.ttlSeconds <= (line.role === READER ? 3600 : 600), String(line.ttlSeconds));
    }
    assert.deepEqual(r.orphans, { leasesWithoutUser: [], usersWithoutLease: [] });
    const text = await rotor(['leases', '--db-url', dbUrl], env);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^ROLE\s+TTL LEFT\s+DATABASE USER\s+LEASE$/m);
    assert.match(text.stdout, new RegExp(`${READER}\\s+59m\\d\\ds\\s+${leases[0]?.data.username ?? ''}\\s+${leases[0]?.leaseId ?? ''}`));
    assert.match(text.stdout, /no orphans/);
  });

  it('--role narrows to one role; PG* variables work instead of --db-url; --no-db skips PostgreSQL', async () => {
    const one = await report(['--role', WRITER, '--db-url', dbUrl]);
    assert.deepEqual(one.report.leases.map((l) => l.databaseUser), [leases[3]?.data.username]);
    const pgEnv = await report([], { PGHOST: db.host, PGPORT: String(db.port), PGUSER: db.superuser, PGDATABASE: db.database });
    assert.equal(pgEnv.code, 0);
    assert.equal(pgEnv.report.leases.filter((l) => l.databaseUser !== undefined).length, 4);
    const noDb = await report(['--no-db']);
    assert.equal(noDb.code, 0);
    assert.equal(noDb.report.databaseChecked, false);
    assert.equal(noDb.report.leases.length, 4);
  });

  it('orphans both ways: a user dropped behind Vault\'s back, a v-* user no lease accounts for; exit 7', async () => {
    // Issued in a second of its own, so that which lease lost its user is not a guess.
    const second = Math.floor(Date.now() / 1000);
    await waitFor('the next second', () => Promise.resolve(Math.floor(Date.now() / 1000) > second ? true : undefined), { timeoutMs: 2_000, intervalMs: 20 });
    const dropped = await vault.database.creds(READER);
    leases.push(dropped);
    await admin.query(`REVOKE ALL ON users FROM "${dropped.data.username}"`);
    await admin.query(`DROP ROLE "${dropped.data.username}"`);
    const stray = `v-token-${READER.slice(0, 8)}-${'Q'.repeat(20)}-${Math.floor(Date.now() / 1000) - 86_400}`;
    await admin.query(`CREATE ROLE "${stray}" WITH LOGIN PASSWORD 'stray-password' VALID UNTIL 'infinity'`);
    const { code, report: r } = await report(['--db-url', dbUrl]);
    assert.equal(code, 7);
    assert.deepEqual(r.orphans.leasesWithoutUser, [{ role: READER, leaseId: dropped.leaseId, sameSecond: 1 }]);
    assert.deepEqual(r.orphans.usersWithoutLease.map((u) => [u.name, u.role]), [[stray, READER]]);
    const text = await rotor(['leases', '--db-url', dbUrl], env);
    assert.equal(text.code, 7);
    assert.match(text.stdout, new RegExp(`orphan lease: ${dropped.leaseId} has no database user`));
    assert.match(text.stdout, new RegExp(`orphan user: ${stray} \\(role ${READER}\\) has no lease`));
    // With --role writer the reader's orphans are out of view.
    assert.equal((await report(['--role', WRITER, '--db-url', dbUrl])).code, 0);
    await admin.query(`DROP ROLE "${stray}"`);
    await vault.sys.revokeLease(dropped.leaseId).catch(() => undefined);
  });

  it('an unreachable PostgreSQL or Vault is exit 4', async () => {
    const noPg = await rotor(['leases', '--db-url', `postgresql://${db.superuser}@127.0.0.1:9/postgres`], env);
    assert.equal(noPg.code, 4, noPg.stderr);
    assert.match(noPg.stderr, /PostgreSQL: .*ECONNREFUSED|connect/);
    const noVault = await rotor(['leases', '--no-db'], { ...env, VAULT_ADDR: 'http://127.0.0.1:9' });
    assert.equal(noVault.code, 4);
  });

  it('rotor rotate-root: the connection\'s root password changes; only Vault knows the new one', async () => {
    // Its own connection and login, so the test's superuser keeps working.
    await admin.query(`CREATE ROLE rotor_root_probe WITH LOGIN CREATEROLE PASSWORD 'bootstrap-password'`);
    await vaultAdmin.writeConfig(vault, 'probe', { pluginName: 'postgresql-database-plugin', allowedRoles: [], connectionUrl: db.vaultConnectionUrl(), username: 'rotor_root_probe', password: 'bootstrap-password' });
    const login = async (): Promise<string> => {
      const client = new pg.Client({ connectionString: db.url('rotor_root_probe', 'bootstrap-password') });
      try {
        await client.connect();
        return 'ok';
      } catch (err) {
        return (err as { code?: string }).code ?? 'error';
      } finally {
        await client.end().catch(() => undefined);
      }
    };
    assert.equal(await login(), 'ok');
    const run = await rotor(['rotate-root', '--connection', 'probe', '--json'], env);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual({ ...(JSON.parse(run.stdout) as Record<string, unknown>), seconds: 0 }, { connection: 'probe', mount: 'database', rotated: true, seconds: 0 });
    assert.equal(await login(), '28P01', 'the bootstrap password no longer logs in');
    const unknown = await rotor(['rotate-root', '--connection', 'no-such-connection'], env);
    assert.equal(unknown.code, 4, unknown.stdout + unknown.stderr);
  });
});
