// The client against a real dev-mode OpenBao and a real PostgreSQL: policies,
// mounts, auth methods, approle login, database engine, leases. The admin writes
// it reads back go through @rotor/testbed's vaultAdmin (the client has none), so
// this file checks those helpers against real Vault too.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { inspect, promisify } from 'node:util';
import { z } from 'zod';
import { isTestbedError, postgresBinDir, startOpenBao, startPostgres, vaultAdmin } from '@rotor/testbed';
import type { OpenBaoDevServer, PostgresServer } from '@rotor/testbed';
import { VaultClient, VaultErrorCode, isVaultError } from '../src/index.ts';

const run = promisify(execFile);

/** Logs in to the real PostgreSQL with psql, so no database client library is needed. */
async function currentUser(pg: PostgresServer, user: string, password: string): Promise<string> {
  const { stdout } = await run(
    join(postgresBinDir(), 'psql'),
    ['-h', pg.host, '-p', String(pg.port), '-U', user, '-d', 'postgres', '-tAc', 'select current_user'],
    { env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '10' } },
  );
  return stdout.trim();
}

function vaultError(code: string): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(isVaultError(err), String(err));
    assert.equal(err.code, code);
    return true;
  };
}

const readerCreation = [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`];

describe('vault-client against a dev OpenBao and PostgreSQL', { timeout: 180_000 }, () => {
  let bao: OpenBaoDevServer;
  let pg: PostgresServer;
  let root: VaultClient;

  before(async () => {
    [bao, pg] = await Promise.all([startOpenBao({ mode: 'dev' }), startPostgres()]);
    root = new VaultClient({ address: bao.address, token: bao.rootToken });
  });
  after(async () => {
    await Promise.all([bao?.stop(), pg?.stop()]);
  });

  it('reads seal status, health and leader of an unsealed dev server', async () => {
    const status = await root.sys.sealStatus();
    assert.deepEqual([status.initialized, status.sealed], [true, false]);
    const health = await root.sys.health();
    assert.deepEqual([health.status, health.standby, health.sealed], [200, false, false]);
    assert.equal(typeof health.version, 'string');
    assert.equal((await root.sys.leader()).haEnabled, false);
  });

  it('writes, reads, lists and deletes a policy; a missing one reads as undefined', async () => {
    assert.equal(await root.sys.readPolicy('rotor-test'), undefined);
    const hcl = 'path "database/creds/reader" {\n  capabilities = ["read"]\n}\n';
    await vaultAdmin.writePolicy(root, 'rotor-test', hcl);
    assert.equal(await root.sys.readPolicy('rotor-test'), hcl);
    assert.ok((await root.sys.listPolicies()).includes('rotor-test'));
    await vaultAdmin.deletePolicy(root, 'rotor-test');
    assert.equal(await root.sys.readPolicy('rotor-test'), undefined);
  });

  it('enables, tunes, lists and disables a secrets engine and an auth method', async () => {
    await vaultAdmin.enableMount(root, 'kv-test', { type: 'kv', description: 'test', options: { version: '2' } });
    await vaultAdmin.tuneMount(root, 'kv-test', { defaultLeaseTtl: '2h' });
    const kv = (await root.sys.listMounts()).find((m) => m.path === 'kv-test');
    assert.ok(kv);
    assert.deepEqual([kv.type, kv.description, kv.options.version, kv.config.defaultLeaseTtl], ['kv', 'test', '2', 7200]);
    await assert.rejects(vaultAdmin.enableMount(root, 'kv-test', { type: 'kv' }), vaultError(VaultErrorCode.BAD_REQUEST));
    await vaultAdmin.disableMount(root, 'kv-test');
    assert.ok(!(await root.sys.listMounts()).some((m) => m.path === 'kv-test'));

    await vaultAdmin.enableAuth(root, 'approle-test', { type: 'approle', description: 'approle for tests' });
    const auth = (await root.sys.listAuth()).find((m) => m.path === 'approle-test');
    assert.deepEqual([auth?.type, auth?.description], ['approle', 'approle for tests']);
    await vaultAdmin.disableAuth(root, 'approle-test');
    assert.ok(!(await root.sys.listAuth()).some((m) => m.path === 'approle-test'));
  });

  it('maps a bad token to VAULT_PERMISSION_DENIED without putting the token in the error', async () => {
    const token = 'hvs.not-a-real-token-0123456789';
    const err = await root
      .withToken(token)
      .sys.listMounts()
      .then(
        () => assert.fail('expected a rejection'),
        (e: unknown) => e,
      );
    assert.ok(isVaultError(err));
    assert.equal(err.code, VaultErrorCode.PERMISSION_DENIED);
    assert.equal(err.status, 403);
    assert.deepEqual([err.method, err.path], ['GET', 'sys/mounts']);
    assert.ok(!`${err.message} ${JSON.stringify(err)} ${inspect(err, { depth: 5 })}`.includes(token));
  });

  it('answers a kubernetes login on an unconfigured method with Vault\'s own error', async () => {
    await vaultAdmin.enableAuth(root, 'kubernetes', { type: 'kubernetes' });
    await assert.rejects(root.auth.loginKubernetes({ role: 'app-creds-reader-role', jwt: 'not.a.jwt' }), (err: unknown) => {
      assert.ok(isVaultError(err));
      assert.deepEqual([err.method, err.path], ['POST', 'auth/kubernetes/login']);
      assert.ok(err.status !== undefined && err.status >= 400 && err.status < 500, `status ${err.status}`);
      assert.ok(err.errors.length > 0);
      return true;
    });
  });

  it('logs in with approle, hides the token, and looks up, renews and revokes it', async () => {
    await vaultAdmin.enableAuth(root, 'approle', { type: 'approle' });
    await vaultAdmin.writePolicy(root, 'app-policy', 'path "database/creds/db-reader-role" { capabilities = ["read"] }');
    await root.request('POST', 'auth/approle/role/app', {
      body: { token_policies: ['app-policy'], token_ttl: '10m', token_max_ttl: '1h' },
    });
    const roleId = await root.request('GET', 'auth/approle/role/app/role-id', { schema: z.object({ data: z.object({ role_id: z.string() }) }) });
    const secretId = await root.request('POST', 'auth/approle/role/app/secret-id', { schema: z.object({ data: z.object({ secret_id: z.string() }) }) });
    assert.ok(roleId && secretId);
    const ids = { roleId: roleId.data.role_id, secretId: secretId.data.secret_id };

    const login = await new VaultClient({ address: bao.address }).auth.loginAppRole(ids);
    assert.ok(login.clientToken.length > 0);
    assert.ok(login.policies.includes('app-policy'));
    assert.equal(login.leaseDuration, 600);
    assert.equal(login.renewable, true);
    const shown = `${JSON.stringify(login)} ${inspect(login)} ${JSON.stringify({ ...login })}`;
    assert.ok(!shown.includes(login.clientToken));
    assert.ok(shown.includes(login.accessor));

    const app = root.withToken(login.clientToken);
    const self = await app.auth.lookupSelf();
    assert.equal(self.accessor, login.accessor);
    assert.ok(self.ttl > 0 && self.ttl <= 600);
    assert.equal(self.renewable, true);
    assert.ok(!JSON.stringify(self).includes(login.clientToken));
    const renewed = await app.auth.renewSelf(300);
    assert.equal(renewed.accessor, login.accessor);
    assert.equal(renewed.leaseDuration, 300);
    await assert.rejects(app.sys.listMounts(), vaultError(VaultErrorCode.PERMISSION_DENIED));
    await app.auth.revokeSelf();
    await assert.rejects(app.auth.lookupSelf(), vaultError(VaultErrorCode.PERMISSION_DENIED));

    await assert.rejects(
      new VaultClient({ address: bao.address }).auth.loginAppRole({ roleId: ids.roleId, secretId: 'wrong' }),
      vaultError(VaultErrorCode.BAD_REQUEST),
    );
  });

  it('configures the database engine against PostgreSQL and reads the configuration back', async () => {
    await vaultAdmin.enableMount(root, 'database', { type: 'database' });
    assert.deepEqual(await vaultAdmin.listConfigs(root), []);
    assert.deepEqual(await root.database.listRoles(), []);
    assert.equal(await vaultAdmin.readConfig(root, 'postgres'), undefined);
    assert.equal(await vaultAdmin.readRole(root, 'db-reader-role'), undefined);

    await vaultAdmin.writeConfig(root, 'postgres', {
      pluginName: 'postgresql-database-plugin',
      connectionUrl: pg.vaultConnectionUrl(),
      username: pg.superuser,
      password: pg.superuserPassword,
      allowedRoles: ['db-reader-role'],
    });
    const config = await vaultAdmin.readConfig(root, 'postgres');
    assert.equal(config?.pluginName, 'postgresql-database-plugin');
    assert.deepEqual(config?.allowedRoles, ['db-reader-role']);
    assert.equal(config?.connectionDetails.username, pg.superuser);
    assert.ok(!JSON.stringify(config).includes(pg.superuserPassword));
    assert.deepEqual(await vaultAdmin.listConfigs(root), ['postgres']);

    await vaultAdmin.writeRole(root, 'db-reader-role', {
      dbName: 'postgres',
      creationStatements: readerCreation,
      defaultTtl: '1h',
      maxTtl: 7200,
    });
    const role = await vaultAdmin.readRole(root, 'db-reader-role');
    assert.deepEqual(role && [role.dbName, role.creationStatements, role.defaultTtl, role.maxTtl], ['postgres', readerCreation, 3600, 7200]);
    assert.deepEqual(await root.database.listRoles(), ['db-reader-role']);
  });

  it('issues credentials that log in to PostgreSQL, and renews, looks up and revokes their lease', async () => {
    const lease = await root.database.creds('db-reader-role');
    assert.match(lease.leaseId, /^database\/creds\/db-reader-role\//);
    assert.equal(lease.leaseDuration, 3600);
    assert.equal(lease.renewable, true);
    const shown = `${JSON.stringify(lease)} ${inspect(lease, { depth: 5 })}`;
    assert.ok(!shown.includes(lease.data.password));
    assert.ok(shown.includes(lease.data.username));
    assert.equal(await currentUser(pg, lease.data.username, lease.data.password), lease.data.username);

    const renewal = await root.sys.renewLease(lease.leaseId, 120);
    assert.deepEqual([renewal.leaseId, renewal.leaseDuration, renewal.renewable], [lease.leaseId, 120, true]);
    const info = await root.sys.lookupLease(lease.leaseId);
    assert.ok(info);
    assert.equal(info.id, lease.leaseId);
    assert.ok(info.ttl > 0 && info.ttl <= 120);
    assert.ok(info.lastRenewal !== undefined && info.expireTime !== undefined);

    await root.sys.revokeLease(lease.leaseId);
    assert.equal(await root.sys.lookupLease(lease.leaseId), undefined);
    await assert.rejects(currentUser(pg, lease.data.username, lease.data.password));
  });

  it('rotates the root credential: the bootstrap password stops working, Vault keeps issuing', async () => {
    await root.database.rotateRoot('postgres');
    await assert.rejects(currentUser(pg, pg.superuser, pg.superuserPassword));
    const lease = await root.database.creds('db-reader-role');
    assert.equal(await currentUser(pg, lease.data.username, lease.data.password), lease.data.username);
    await root.sys.revokeLease(lease.leaseId);
  });

  it('deletes a role and a connection', async () => {
    await vaultAdmin.deleteRole(root, 'db-reader-role');
    await vaultAdmin.deleteConfig(root, 'postgres');
    assert.deepEqual(await root.database.listRoles(), []);
    assert.deepEqual(await vaultAdmin.listConfigs(root), []);
    await assert.rejects(root.database.creds('db-reader-role'), (err: unknown) => isVaultError(err) && err.status === 400);
  });

  it('reports a missing mount as an error rather than an empty list', async () => {
    await assert.rejects(root.database.listRoles('no-such-mount'), vaultError(VaultErrorCode.NOT_FOUND));
    await assert.rejects(vaultAdmin.listConfigs(root, 'no-such-mount'), (err: unknown) => isTestbedError(err) && err.code === 'VAULT_NOT_FOUND');
  });
});
