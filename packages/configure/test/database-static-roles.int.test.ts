// Database static roles against a real OpenBao and PostgreSQL: created (Vault
// takes the user over and rotates its password at once), re-applied with no
// write, tuned with one write, moved to another user by delete + create, and
// pruned (only with --prune, before the connection it uses).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { z } from 'zod';
import { startOpenBao, startPostgres } from '@rotor/testbed';
import type { OpenBaoDevServer, PostgresServer } from '@rotor/testbed';
import { applyPlan, loadConfig, planChanges, readLiveState } from '../src/index.ts';
import { countingClient, sqlstate } from './helpers.ts';

const staticCreds = z.object({ data: z.object({ username: z.string(), password: z.string() }) }).transform((r) => r.data);
const staticRole = z.object({ data: z.object({ username: z.string(), rotation_period: z.number(), last_vault_rotation: z.string() }) }).transform((r) => r.data);

describe('configure database static roles against OpenBao and PostgreSQL', { timeout: 180_000 }, () => {
  let db: PostgresServer;
  let bao: OpenBaoDevServer;
  let dir: string;

  const config = (fields: { username?: string; period?: string } = {}): string => {
    const file = join(dir, `config-${fields.username ?? 'billing_batch'}-${fields.period ?? '1d'}.yaml`);
    writeFileSync(file, `secrets:
  - path: database
    type: database
    connections:
      - name: postgres
        plugin_name: postgresql-database-plugin
        connection_url: ${db.vaultConnectionUrl()}
        allowed_roles: [billing-batch]
        username: ${db.superuser}
        password: { fromEnv: PG_ROOT_PASSWORD }
    static_roles:
      - name: billing-batch
        db_name: postgres
        username: ${fields.username ?? 'billing_batch'}
        rotation_period: ${fields.period ?? '1d'}
`);
    return file;
  };

  /** One run of the tool with a fresh client: load, read, plan, apply; the write requests it sent. */
  async function run(file: string, prune = false): Promise<string[]> {
    const { client, writes } = countingClient(bao.address, bao.rootToken);
    const desired = loadConfig(file, { env: { PG_ROOT_PASSWORD: db.superuserPassword } });
    await applyPlan(client, planChanges(desired, await readLiveState(client, desired), { prune }));
    return writes;
  }

  const vault = (): ReturnType<typeof countingClient>['client'] => countingClient(bao.address, bao.rootToken).client;
  /** A read that must find something. */
  async function read<T>(path: string, schema: z.ZodType<T>): Promise<T> {
    const data = await vault().request('GET', path, { schema });
    assert.ok(data !== undefined, `${path} is empty`);
    return data;
  }
  const creds = (): Promise<z.output<typeof staticCreds>> => read('database/static-creds/billing-batch', staticCreds);
  const role = (): Promise<z.output<typeof staticRole>> => read('database/static-roles/billing-batch', staticRole);

  before(async () => {
    [db, bao] = await Promise.all([startPostgres(), startOpenBao({ mode: 'dev' })]);
    dir = mkdtempSync(join(tmpdir(), 'rotor-static-roles-'));
    const admin = new pg.Client({ connectionString: db.url() });
    await admin.connect();
    try {
      for (const user of ['billing_batch', 'billing_batch_v2', 'stray_user']) await admin.query(`CREATE ROLE ${user} WITH LOGIN PASSWORD 'initial-password'`);
    } finally {
      await admin.end();
    }
  });
  after(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await Promise.all([db?.stop(), bao?.stop()]);
  });

  it('creates the static role: Vault rotates the user at once, only its password logs in', async () => {
    assert.deepEqual(await run(config()), ['POST sys/mounts/database', 'POST database/config/postgres', 'POST database/static-roles/billing-batch']);
    const { username, password } = await creds();
    assert.equal(username, 'billing_batch');
    assert.notEqual(password, 'initial-password');
    assert.equal(await sqlstate(db.url(username, password), 'SELECT 1'), undefined);
    assert.equal(await sqlstate(db.url('billing_batch', 'initial-password'), 'SELECT 1'), '28P01');
    assert.equal((await role()).rotation_period, 86400);
  });

  it('re-applies with zero writes and no extra rotation', async () => {
    const previous = await role();
    assert.deepEqual(await run(config()), []);
    assert.equal((await role()).last_vault_rotation, previous.last_vault_rotation);
  });

  it('applies a changed rotation_period with exactly one write, keeping the password', async () => {
    const { password } = await creds();
    assert.deepEqual(await run(config({ period: '12h' })), ['POST database/static-roles/billing-batch']);
    assert.equal((await role()).rotation_period, 43200);
    assert.equal((await creds()).password, password);
    assert.deepEqual(await run(config({ period: '12h' })), []);
  });

  it('moves the role to another user by delete and create: the new user is rotated', async () => {
    assert.deepEqual(await run(config({ username: 'billing_batch_v2', period: '12h' })), [
      'DELETE database/static-roles/billing-batch',
      'POST database/static-roles/billing-batch',
    ]);
    const { username, password } = await creds();
    assert.equal(username, 'billing_batch_v2');
    assert.equal(await sqlstate(db.url(username, password), 'SELECT 1'), undefined);
    assert.equal(await sqlstate(db.url('billing_batch_v2', 'initial-password'), 'SELECT 1'), '28P01');
    assert.deepEqual(await run(config({ username: 'billing_batch_v2', period: '12h' })), []);
  });

  it('deletes an undeclared static role only with --prune, before the connection it uses', async () => {
    const client = vault();
    await client.request('POST', 'database/config/other', {
      body: { plugin_name: 'postgresql-database-plugin', connection_url: db.vaultConnectionUrl(), username: db.superuser, password: db.superuserPassword, allowed_roles: ['stray'] },
    });
    await client.request('POST', 'database/static-roles/stray', { body: { db_name: 'other', username: 'stray_user', rotation_period: 3600 } });
    const file = config({ username: 'billing_batch_v2', period: '12h' });
    assert.deepEqual(await run(file), []);
    assert.deepEqual(await run(file, true), ['DELETE database/static-roles/stray', 'DELETE database/config/other']);
    await assert.rejects(client.request('GET', 'database/static-roles/stray', { schema: staticRole }), { code: 'VAULT_NOT_FOUND' });
    const { username, password } = await creds();
    assert.equal(await sqlstate(db.url(username, password), 'SELECT 1'), undefined, 'the declared role still works');
  });
});
