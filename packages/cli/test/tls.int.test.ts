// TLS end to end against real servers: a 3-node raft OpenBao serving its API over TLS with
// certificates of a CA made by `rotor tls issue`, initialized, joined (leader_ca_cert) and unsealed by `rotor unseal`
// trusting only that CA; the CLI verifying it (and refusing another CA with a clear error); a
// listener certificate renewed on disk (`rotor tls issue`) and picked up on SIGHUP without a restart; PostgreSQL
// serving TLS only, reached by Vault's database engine with sslmode=verify-full.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import pg from 'pg';
import { ServerProcess, createTestCa, startOpenBaoCluster, startPostgres, waitFor, vaultAdmin, type OpenBaoCluster, type OpenBaoNode, type PostgresServer, type TestCa } from '@rotor/testbed';
import { VaultClient, isCertificateError } from '@rotor/vault-client';
import type { StatusReport } from '../src/status/model.ts';
import { rotor } from './cli.ts';

/** The serial number of the certificate `node` serves now, read from a real handshake that trusts `ca`. */
function servedSerial(node: OpenBaoNode, ca: string): Promise<string> {
  const { hostname, port } = new URL(node.address);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), ca, timeout: 2_000 }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial);
    });
    socket.on('timeout', () => socket.destroy(new Error(`no TLS handshake with ${node.address} within 2 s`)));
    socket.on('error', reject);
  });
}

function serialOf(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).serialNumber;
}

describe('TLS end to end (raft OpenBao, unsealer, CLI, PostgreSQL)', { timeout: 300_000 }, () => {
  let dir: string;
  let ca: TestCa;
  let otherCa: TestCa;
  let cluster: OpenBaoCluster;
  let postgres: PostgresServer;
  let rootToken: string;
  const keyStore = (): string => `file:${join(dir, 'keys.json')}`;
  const nodes = (): string => cluster.nodes.map((n) => n.address).join(',');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rotor-tls-'));
    // The deployment's CA as an operator without cert-manager makes it: `rotor tls issue` (the
    // node certificates are then signed with its key by openssl, PostgreSQL's too).
    const made = await rotor(['tls', 'issue', '--ca-dir', join(dir, 'rotor-ca'), '--name', 'first', '--out', dir, '--dns', 'localhost']);
    assert.equal(made.code, 0, made.stderr);
    ca = { certFile: join(dir, 'rotor-ca', 'ca.crt'), keyFile: join(dir, 'rotor-ca', 'ca.key'), certPem: readFileSync(join(dir, 'rotor-ca', 'ca.crt'), 'utf8') };
    otherCa = await createTestCa(dir, 'other');
    [cluster, postgres] = await Promise.all([startOpenBaoCluster({ nodes: 3, tls: ca }), startPostgres({ tls: ca })]);
  });
  after(async () => {
    await Promise.all([cluster?.stop(), postgres?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('rotor unseal initializes, joins and unseals 3 nodes over TLS trusting only --ca-cert', async () => {
    assert.ok(cluster.nodes.every((n) => n.address.startsWith('https://')));
    const run = await rotor(['unseal', '--nodes', nodes(), '--key-store', keyStore(), '--ca-cert', ca.certFile, '--once', '--timeout', '90000']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /3 nodes initialized and unsealed/);
    rootToken = (JSON.parse(readFileSync(join(dir, 'keys.json'), 'utf8')) as { rootToken: string }).rootToken;
    // The followers joined the leader over https: they verified its certificate with the CA (leader_ca_cert).
    const vault = new VaultClient({ address: cluster.nodes[0]!.address, caCert: ca.certPem, token: rootToken });
    const peers = await waitFor(
      'three raft voters',
      async () => {
        const servers = (await vault.sys.raftConfiguration()).servers;
        return servers.length === 3 && servers.every((s) => s.voter) ? servers : undefined;
      },
      { timeoutMs: 30_000 },
    );
    assert.deepEqual(peers.map((p) => p.nodeId).sort(), ['node-1', 'node-2', 'node-3']);
  });

  it('the CLI verifies the CA: VAULT_CACERT and --ca-cert reach every node; another CA is refused, saying why', async () => {
    const env = { VAULT_ADDR: cluster.nodes[0]!.address, VAULT_TOKEN: rootToken };
    await vaultAdmin.enableMount(new VaultClient({ address: env.VAULT_ADDR, caCert: ca.certPem, token: rootToken }), 'database', { type: 'database' });
    const ok = await rotor(['status', '--nodes', nodes(), '--json'], { ...env, VAULT_CACERT: ca.certFile });
    const report = JSON.parse(ok.stdout) as StatusReport;
    assert.deepEqual(report.nodes.map((n) => n.state).sort(), ['active', 'standby', 'standby'], ok.stdout + ok.stderr);

    const wrong = await rotor(['leases', '--no-db'], { ...env, VAULT_CACERT: otherCa.certFile });
    assert.notEqual(wrong.code, 0);
    const host = new URL(cluster.nodes[0]!.address).host;
    assert.match(wrong.stderr, new RegExp(`the TLS certificate of ${host.replace(/\./g, '\\.')} is not trusted \\(UNABLE_TO_VERIFY_LEAF_SIGNATURE\\): the CA given did not sign it`), wrong.stderr);
    assert.match(wrong.stderr, /rotor: Vault's certificate is not trusted: pass --ca-cert <file> or set VAULT_CACERT to the CA that signed it/);
    assert.doesNotMatch(wrong.stderr + wrong.stdout, new RegExp(rootToken));
    // A flag wins over the environment, as in Vault's CLI.
    const flag = await rotor(['leases', '--no-db', '--json', '--ca-cert', ca.certFile], { ...env, VAULT_CACERT: otherCa.certFile });
    assert.equal(flag.code, 0, flag.stderr);
  });

  it('the unsealer with another CA touches nothing and logs the refused certificate for each node', async () => {
    const run = await rotor(['unseal', '--nodes', nodes(), '--key-store', keyStore(), '--ca-cert', otherCa.certFile, '--once', '--timeout', '5000']);
    assert.notEqual(run.code, 0);
    // Static discovery names nodes by address.
    const output = run.stdout + run.stderr;
    assert.match(run.stderr, new RegExp(`still sealed or unreachable: ${cluster.nodes.map((n) => n.address).join(', ').replace(/\./g, '\\.')}`));
    for (const node of cluster.nodes) {
      assert.match(output, new RegExp(`${node.address.replace(/\./g, '\\.')}: observe failed: GET sys/seal-status: the TLS certificate of ${node.host.replace(/\./g, '\\.')}:\\d+ is not trusted \\(UNABLE_TO_VERIFY_LEAF_SIGNATURE\\): the CA given did not sign it`), output);
    }
    // The client library says the same to any caller.
    await assert.rejects(new VaultClient({ address: cluster.nodes[1]!.address, caCert: otherCa.certPem }).sys.sealStatus(), (err: unknown) => isCertificateError(err));
  });

  it('a listener certificate renewed on disk is served after SIGHUP, without a restart', async () => {
    const node = cluster.nodes[1]!;
    assert.ok(node.tls);
    const before = await servedSerial(node, ca.certPem);
    assert.equal(before, serialOf(node.tls.certFile));
    // Renew as documented without cert-manager: `rotor tls issue` again (a new key, the same CA), written over the old files.
    const renewed = await rotor(['tls', 'issue', '--ca-dir', join(dir, 'rotor-ca'), '--name', 'renewed', '--out', dir, '--ip', node.host, '--dns', 'localhost']);
    assert.equal(renewed.code, 0, renewed.stderr);
    writeFileSync(node.tls.keyFile, readFileSync(join(dir, 'renewed.key')));
    writeFileSync(node.tls.certFile, readFileSync(join(dir, 'renewed.crt')));
    const expected = serialOf(node.tls.certFile);
    assert.notEqual(expected, before);
    node.reload();
    const served = await waitFor('the renewed certificate to be served', async () => ((await servedSerial(node, ca.certPem)) === expected ? expected : undefined), { timeoutMs: 30_000 });
    assert.equal(served, expected);
    assert.ok(node.running, 'the same process serves it');
    const status = await rotor(['status', '--nodes', nodes(), '--json'], { VAULT_ADDR: node.address, VAULT_TOKEN: rootToken, VAULT_CACERT: ca.certFile });
    assert.equal((JSON.parse(status.stdout) as StatusReport).nodes.filter((n) => n.state === 'unreachable').length, 0, status.stdout);
  });

  it("PostgreSQL serves TLS only; Vault's database engine connects with sslmode=verify-full and refuses another CA", async () => {
    const vault = new VaultClient({ address: cluster.nodes[0]!.address, caCert: ca.certPem, token: rootToken });
    // Without TLS PostgreSQL refuses the login (hostnossl ... reject).
    const plain = new pg.Client({ connectionString: postgres.url().replace(/\?.*$/, '?sslmode=disable') });
    await assert.rejects(plain.connect(), /pg_hba\.conf rejects connection .*no encryption/);
    await plain.end().catch(() => undefined);

    const base = { pluginName: 'postgresql-database-plugin', allowedRoles: ['reader'], username: postgres.superuser, password: postgres.superuserPassword };
    const url = postgres.vaultConnectionUrl();
    assert.match(url, /sslmode=verify-full&sslrootcert=/);
    // Another CA: Vault's verification of the server fails, and the config is refused.
    await assert.rejects(vaultAdmin.writeConfig(vault, 'wrong-ca', { ...base, connectionUrl: url.replace(ca.certFile, otherCa.certFile) }), (err: unknown) => {
      assert.match(String((err as Error).message), /certificate signed by unknown authority/);
      assert.doesNotMatch(String((err as Error).message), new RegExp(postgres.superuserPassword));
      return true;
    });
    await vaultAdmin.writeConfig(vault, 'postgres', { ...base, connectionUrl: url });
    await vaultAdmin.writeRole(vault, 'reader', {
      dbName: 'postgres',
      creationStatements: [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`],
      defaultTtl: '1m',
      maxTtl: '5m',
    });
    const { data: creds } = await vault.database.creds('reader');
    // The issued user logs in over verified TLS, and its session is encrypted.
    const client = new pg.Client({ connectionString: postgres.url(creds.username, creds.password) });
    await client.connect();
    try {
      const { rows } = await client.query<{ ssl: boolean }>('select ssl from pg_stat_ssl where pid = pg_backend_pid()');
      assert.deepEqual(rows, [{ ssl: true }]);
    } finally {
      await client.end();
    }
    // Vault's own sessions (as the superuser it was given) are TLS too.
    const admin = new pg.Client({ connectionString: postgres.url() });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ ssl: boolean }>(
        "select s.ssl from pg_stat_ssl s join pg_stat_activity a using (pid) where a.usename = $1 and a.pid <> pg_backend_pid() and a.backend_type = 'client backend'",
        [postgres.superuser],
      );
      assert.ok(rows.length > 0 && rows.every((r) => r.ssl), JSON.stringify(rows));
    } finally {
      await admin.end();
    }
  });

  it('the agent verifies the CA (vault.ca_cert): renders credentials over TLS; with another CA it authenticates nothing', async () => {
    const vault = new VaultClient({ address: cluster.nodes[0]!.address, caCert: ca.certPem, token: rootToken });
    await vaultAdmin.writePolicy(vault, 'reader', 'path "database/creds/reader" { capabilities = ["read"] }');
    await vaultAdmin.enableAuth(vault, 'approle', { type: 'approle' });
    await vault.request('POST', 'auth/approle/role/app', { body: { token_policies: ['reader'], token_ttl: '5m' } });
    const roleId = ((await vault.request('GET', 'auth/approle/role/app/role-id')) as { data: { role_id: string } }).data.role_id;
    const secretId = ((await vault.request('POST', 'auth/approle/role/app/secret-id')) as { data: { secret_id: string } }).data.secret_id;
    writeFileSync(join(dir, 'role-id'), roleId);
    writeFileSync(join(dir, 'secret-id'), secretId, { mode: 0o600 });
    const startAgent = (name: string, caFile: string): { agent: ServerProcess; out: string; log: string } => {
      const home = join(dir, `agent-${name}`);
      mkdirSync(home);
      const out = join(home, 'creds');
      const config = join(home, 'agent.hcl');
      writeFileSync(
        config,
        [
          'exit_after_auth = true',
          `vault {\n  address = "${cluster.nodes[0]!.address}"\n  ca_cert = "${caFile}"\n}`,
          'auto_auth {',
          '  method "approle" {',
          '    mount_path = "auth/approle"',
          `    config = {\n      role_id_file_path = "${join(dir, 'role-id')}"\n      secret_id_file_path = "${join(dir, 'secret-id')}"\n      remove_secret_id_file_after_reading = false\n    }`,
          '  }',
          '}',
          'template_config {\n  exit_on_retry_failure = true\n}',
          `template {\n  contents = "{{ with secret \\"database/creds/reader\\" }}{{ .Data.username }}{{ end }}"\n  destination = "${out}"\n}`,
          '',
        ].join('\n'),
      );
      const log = join(home, 'agent.log');
      const agent = new ServerProcess({ name: `bao agent (${name})`, command: cluster.binary, args: ['agent', `-config=${config}`], logFile: log, env: { PATH: process.env.PATH, HOME: home }, cwd: home });
      return { agent, out, log };
    };

    // exit_after_auth, as the injector's init container runs it: render once, then exit.
    const good = startAgent('ca', ca.certFile);
    try {
      const user = await waitFor('the agent to render credentials', () => Promise.resolve(existsSync(good.out) && readFileSync(good.out, 'utf8').startsWith('v-') ? readFileSync(good.out, 'utf8') : undefined), { timeoutMs: 60_000 }).catch((err: unknown) => {
        throw good.agent.failure('rendered nothing', err);
      });
      assert.match(user, /^v-/);
    } finally {
      await good.agent.stop();
    }

    const wrong = startAgent('other-ca', otherCa.certFile);
    try {
      const line = await waitFor('the agent to refuse the certificate', () => Promise.resolve(readFileSync(wrong.log, 'utf8').split('\n').find((l) => /x509: certificate signed by unknown authority/.test(l))), { timeoutMs: 60_000 });
      assert.match(line, /auth|login|approle/i, line);
      assert.equal(existsSync(wrong.out), false, 'nothing rendered');
      assert.doesNotMatch(readFileSync(wrong.log, 'utf8'), new RegExp(secretId));
    } finally {
      await wrong.agent.stop();
    }
  });
});
