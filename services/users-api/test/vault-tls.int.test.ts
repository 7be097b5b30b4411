// users-api in vault (direct lease) mode over TLS end to end: an OpenBao serving TLS with a test
// CA (VAULT_CACERT), PostgreSQL serving TLS only (DB_SSLROOTCERT, verified like verify-full), and
// Vault's database engine reaching PostgreSQL with sslmode=verify-full. GET /users answers 200;
// with another CA for Vault, or for PostgreSQL, the service does not start and says why.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createTestCa, startOpenBaoCluster, startPostgres, waitFor, vaultAdmin, type OpenBaoCluster, type PostgresServer, type TestCa } from '@rotor/testbed';
import { VaultClient } from '@rotor/vault-client';
import { http, runService, testConfig } from './harness.ts';

describe('users-api vault mode over TLS (OpenBao and PostgreSQL verified)', { timeout: 240_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let otherCa: TestCa;
  let cluster: OpenBaoCluster;
  let db: PostgresServer;
  let token: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rotor-users-tls-'));
    [ca, otherCa] = await Promise.all([createTestCa(dir, 'vault'), createTestCa(dir, 'other')]);
    [cluster, db] = await Promise.all([startOpenBaoCluster({ nodes: 1, tls: ca }), startPostgres({ tls: ca })]);
    const node = cluster.nodes[0]!;
    const bare = new VaultClient({ address: node.address, caCert: ca.certPem });
    const init = await bare.sys.init({ secretShares: 1, secretThreshold: 1 });
    await bare.sys.unseal(init.keysBase64[0]!);
    const root = bare.withToken(init.rootToken);
    await waitFor('the node to become active', async () => ((await root.sys.health()).status === 200 ? true : undefined), { timeoutMs: 30_000 });
    await vaultAdmin.enableMount(root, 'database', { type: 'database' });
    await vaultAdmin.writeConfig(root, 'postgres', {
      pluginName: 'postgresql-database-plugin',
      connectionUrl: db.vaultConnectionUrl(),
      allowedRoles: ['db-reader-role'],
      username: db.superuser,
      password: db.superuserPassword,
    });
    await vaultAdmin.writeRole(root, 'db-reader-role', {
      dbName: 'postgres',
      creationStatements: [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`, 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";'],
      defaultTtl: '2m',
      maxTtl: '5m',
    });
    const admin = new pg.Client({ connectionString: db.url() });
    await admin.connect();
    try {
      await admin.query("CREATE TABLE users (id serial NOT NULL UNIQUE, title varchar(255) NOT NULL, name varchar(255)); INSERT INTO users(title, name) VALUES ('sre', 'sakib')");
    } finally {
      await admin.end();
    }
    // A service token (the root token is not renewable, and a service never gets one).
    await vaultAdmin.writePolicy(root, 'users-api', 'path "database/creds/db-reader-role" { capabilities = ["read"] }\npath "sys/leases/*" { capabilities = ["update"] }');
    const created = (await root.request('POST', 'auth/token/create', { body: { policies: ['users-api'], ttl: '10m', renewable: true } })) as { auth: { client_token: string } };
    token = created.auth.client_token;
  });
  after(async () => {
    await Promise.all([cluster?.stop(), db?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const env = (vaultCa: string, dbCa: string): Record<string, string> => ({
    CREDENTIALS_MODE: 'vault',
    VAULT_ADDR: cluster.nodes[0]!.address,
    VAULT_CACERT: vaultCa,
    VAULT_AUTH_METHOD: 'token',
    VAULT_TOKEN: token,
    VAULT_DB_ROLE: 'db-reader-role',
    DB_SSLROOTCERT: dbCa,
  });

  it('serves GET /users on credentials leased over verified TLS, its PostgreSQL sessions encrypted', async () => {
    const running = await runService(testConfig(db, env(ca.certFile, ca.certFile)));
    try {
      const answer = await http(running.url, 'GET', '/users');
      assert.equal(answer.status, 200, answer.text);
      assert.match(answer.text, /sakib/);
      const admin = new pg.Client({ connectionString: db.url() });
      await admin.connect();
      try {
        const { rows } = await admin.query<{ ssl: boolean }>("select s.ssl from pg_stat_ssl s join pg_stat_activity a using (pid) where a.application_name = 'users-api'");
        assert.ok(rows.length > 0 && rows.every((r) => r.ssl), JSON.stringify(rows));
      } finally {
        await admin.end();
      }
      assert.doesNotMatch(running.logs(), new RegExp(token));
    } finally {
      await running.stop();
    }
  });

  it('another CA for Vault: no start, the refused certificate named', async () => {
    await assert.rejects(runService(testConfig(db, env(otherCa.certFile, ca.certFile))), (err: unknown) => {
      assert.match(String(err instanceof Error ? `${err.message} ${String((err.cause as Error | undefined)?.message)}` : err), /TLS certificate of 127\.0\.0\.2:\d+ is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
      return true;
    });
  });

  it('another CA for PostgreSQL: no start, the certificate refused', async () => {
    await assert.rejects(runService(testConfig(db, env(ca.certFile, otherCa.certFile))), (err: unknown) => {
      const text = err instanceof Error ? `${err.message} ${String((err.cause as Error | undefined)?.message)}` : String(err);
      assert.match(text, /unable to verify the first certificate|self.signed|UNABLE_TO_VERIFY/i, text);
      return true;
    });
  });
});
