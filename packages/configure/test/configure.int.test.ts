// configure against a real OpenBao and PostgreSQL: the shipped config applied
// to an empty server, idempotence counted in write requests, one TTL change,
// prune, invalid files, and root rotation across "restarts" of the tool.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { startOpenBao, startPostgres, vaultAdmin } from '@rotor/testbed';
import type { OpenBaoDevServer, PostgresServer } from '@rotor/testbed';
import type { VaultClient } from '@rotor/vault-client';
import { applyPlan, isConfigureError, loadConfig, planChanges, readLiveState } from '../src/index.ts';
import type { Plan } from '../src/index.ts';
import { countingClient, createUsersTable, shippedConfigFor, sqlstate } from './helpers.ts';

describe('configure apply against OpenBao and PostgreSQL', { timeout: 180_000 }, () => {
  let db: PostgresServer;
  let bao: OpenBaoDevServer;
  let config: { dir: string; file: string };
  const env = (): Record<string, string> => ({ PG_ROOT_PASSWORD: db.superuserPassword });

  /** One run of the tool: a fresh client (nothing remembered between runs), load, read, plan, apply. */
  async function run(file: string, prune = false): Promise<{ plan: Plan; writes: string[] }> {
    const { client, writes } = countingClient(bao.address, bao.rootToken);
    const desired = loadConfig(file, { env: env() });
    const plan = planChanges(desired, await readLiveState(client, desired), { prune });
    await applyPlan(client, plan);
    return { plan, writes };
  }

  async function login(client: VaultClient, role: string): Promise<string> {
    const { data } = await client.database.creds(role);
    return db.url(data.username, data.password);
  }

  before(async () => {
    [db, bao] = await Promise.all([startPostgres(), startOpenBao({ mode: 'dev' })]);
    await createUsersTable(db);
    config = shippedConfigFor(db);
  });
  after(async () => {
    if (config) rmSync(config.dir, { recursive: true, force: true });
    await Promise.all([db?.stop(), bao?.stop()]);
  });

  it('rejects invalid files with exact positions before any request', async () => {
    const text = readFileSync(config.file, 'utf8');
    const broken = `${config.dir}/broken.yaml`;
    writeFileSync(broken, text.replace('token_ttl: 1h', 'token_ttl: soon').replace('db_name: postgres', 'db_nam: postgres'));
    const { client, writes } = countingClient(bao.address, bao.rootToken);
    const lines = text.split('\n');
    const line = (needle: string): number => lines.findIndex((l) => l.includes(needle)) + 1;
    await assert.rejects(
      async () => {
        const desired = loadConfig(broken, { env: env() });
        await applyPlan(client, planChanges(desired, await readLiveState(client, desired), { prune: false }));
      },
      (err: unknown) => {
        assert.ok(isConfigureError(err));
        assert.deepEqual(
          err.issues.map((i) => `${i.line}:${i.col} ${i.message}`),
          [
            `${line('token_ttl: 1h')}:20 a duration like "90s", "15m", "1h", "7d" or whole seconds`,
            `${line('- name: db-reader-role')}:9 missing key "db_name"`,
            `${line('db_name: postgres')}:9 unknown key "db_nam"`,
          ],
        );
        return true;
      },
    );
    assert.deepEqual(writes, []);
  });

  it('applies the seed config on an empty server: each role gets exactly its privileges', async () => {
    const { writes } = await run(config.file);
    assert.ok(writes.includes('POST database/rotate-root/postgres'));
    const { client } = countingClient(bao.address, bao.rootToken);
    const reader = await login(client, 'db-reader-role');
    assert.equal(await sqlstate(reader, 'SELECT * FROM users'), undefined);
    assert.equal(await sqlstate(reader, `INSERT INTO users(title, name) VALUES ('x', 'y')`), '42501');
    const writer = await login(client, 'db-writer-role');
    assert.equal(await sqlstate(writer, 'SELECT * FROM users'), undefined);
    assert.equal(await sqlstate(writer, `INSERT INTO users(title, name) VALUES ('x', 'y')`), undefined);
    const policy = await client.sys.readPolicy('app-policy');
    assert.match(policy ?? '', /path "database\/creds\/db-reader-role" \{\s+capabilities = \["read"\]\s+\}/);
  });

  it('rotated the root password: the original one no longer logs in', async () => {
    assert.equal(await sqlstate(db.url(), 'SELECT 1'), '28P01');
  });

  it('re-applies with zero writes, also from a new process-like run', async () => {
    const { plan, writes } = await run(config.file);
    assert.deepEqual(writes, []);
    assert.ok(plan.changes.every((c) => c.op === 'unchanged'), JSON.stringify(plan.changes.filter((c) => c.op !== 'unchanged')));
  });

  it('applies one changed TTL with exactly one update', async () => {
    const changed = `${config.dir}/ttl.yaml`;
    writeFileSync(changed, readFileSync(config.file, 'utf8').replace(/(name: db-reader-role[\s\S]*?default_ttl:) 1h/, '$1 2h'));
    const { writes } = await run(changed);
    assert.deepEqual(writes, ['POST database/roles/db-reader-role']);
    const { client } = countingClient(bao.address, bao.rootToken);
    assert.equal((await vaultAdmin.readRole(client, 'db-reader-role'))?.defaultTtl, 7200);
    assert.deepEqual((await run(changed)).writes, []);
    assert.deepEqual((await run(config.file)).writes, ['POST database/roles/db-reader-role']);
  });

  it('changes a rotated connection without pushing the original password back', async () => {
    const changed = `${config.dir}/allowed.yaml`;
    writeFileSync(changed, readFileSync(config.file, 'utf8').replace(/allowed_roles: \[.*\]/, 'allowed_roles: [db-writer-role, db-reader-role, "*"]'));
    const { writes } = await run(changed);
    assert.deepEqual(writes, ['POST database/config/postgres']);
    const { client } = countingClient(bao.address, bao.rootToken);
    assert.equal(await sqlstate(await login(client, 'db-reader-role'), 'SELECT * FROM users'), undefined);
    assert.equal(await sqlstate(db.url(), 'SELECT 1'), '28P01');
    assert.deepEqual((await run(config.file)).writes, ['POST database/config/postgres']);
  });

  it('deletes an undeclared role only with --prune', async () => {
    const { client } = countingClient(bao.address, bao.rootToken);
    await vaultAdmin.writeRole(client, 'stray-role', { dbName: 'postgres', creationStatements: ['SELECT 1'] });
    assert.deepEqual((await run(config.file)).writes, []);
    assert.deepEqual((await run(config.file, true)).writes, ['DELETE database/roles/stray-role']);
    assert.equal(await vaultAdmin.readRole(client, 'stray-role'), undefined);
    assert.ok(await client.sys.readPolicy('default'), 'built-in policy kept');
    assert.ok((await client.sys.listMounts()).some((m) => m.path === 'secret'), 'unmanaged kv mount kept');
  });

  it('a later apply neither rotates again nor breaks the connection', async () => {
    const { writes } = await run(config.file, true);
    assert.deepEqual(writes, []);
    const { client } = countingClient(bao.address, bao.rootToken);
    assert.equal(await sqlstate(await login(client, 'db-writer-role'), 'SELECT * FROM users'), undefined);
  });

  it('manages approle roles idempotently too', async () => {
    const file = `${config.dir}/approle.yaml`;
    writeFileSync(file, `auth:
  - path: approle
    type: approle
    roles:
      - name: ci
        token_policies: [default]
        secret_id_ttl: 10m
        token_ttl: 20m
        token_max_ttl: 1h
`);
    const first = await run(file);
    assert.deepEqual(first.writes, ['POST sys/auth/approle', 'POST auth/approle/role/ci']);
    assert.deepEqual((await run(file)).writes, []);
  });
});
