// No standing root token, against real servers: `rotor unseal --root-token=revoke
// --bootstrap-config` initializes a fresh OpenBao, applies only the rotor-configure role and
// policy with the initial root token and revokes it (which then fails); `rotor configure`
// logs in as its own service account through a real kube-apiserver's TokenReview and applies
// the shipped config under that least-privilege policy; --prune keeps its identity; and
// `rotor unseal generate-root` is the break-glass path, its token on stdout only.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import {
  SecretSet,
  VaultTap,
  assertNoSecretsInLogs,
  createKubernetesAuthObjects,
  kubeOk,
  serviceAccountToken,
  startKubeApiserver,
  startOpenBaoCluster,
  startPostgres,
  type KubeApiserver,
  type OpenBaoCluster,
  type PostgresServer,
} from '@rotor/testbed';
import { VaultClient, isVaultError } from '@rotor/vault-client';
import pg from 'pg';
import { ExitCode } from '../src/index.ts';

const BIN = fileURLToPath(new URL('../bin/rotor.js', import.meta.url));
const SHIPPED = fileURLToPath(new URL('../../../deploy/vault/config.yaml', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Records what the tap harvests, so the test knows the initial root token the unsealer never stores. */
class Harvest extends SecretSet {
  readonly tokens: string[] = [];
  override add(kind: string, value: string | undefined): void {
    if (kind === 'vault token' && value !== undefined) this.tokens.push(value);
    super.add(kind, value);
  }
}

describe('no standing root token: bootstrap, kubernetes login, break-glass', { timeout: 300_000 }, () => {
  let kube: KubeApiserver;
  let db: PostgresServer;
  let bao: OpenBaoCluster;
  let tap: VaultTap;
  let config: { dir: string; file: string };
  let keysFile: string;
  let configureJwtFile: string;
  let appJwtFile: string;
  let reviewerJwt: string;
  let node: string;
  let rootToken: string;
  const harvest = new Harvest();
  const runs: (Run & { args: string[] })[] = [];

  function rotor(args: string[], env: Record<string, string>): Promise<Run> {
    return new Promise((resolve) => {
      execFile(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
        const run = { code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr };
        runs.push({ ...run, args });
        resolve(run);
      });
    });
  }

  const configureEnv = (): Record<string, string> => ({ VAULT_ADDR: node, PG_ROOT_PASSWORD: db.superuserPassword, REVIEWER_JWT: reviewerJwt });

  before(async () => {
    [kube, db, bao] = await Promise.all([startKubeApiserver(), startPostgres(), startOpenBaoCluster({ nodes: 1 })]);
    node = bao.nodes[0]?.address ?? assert.fail('one node');
    const sql = new pg.Client({ connectionString: db.url() });
    await sql.connect();
    await sql.query('CREATE TABLE users (id serial PRIMARY KEY, title text, name text)').finally(() => sql.end());
    ({ reviewerJwt } = await createKubernetesAuthObjects(kube));
    await kubeOk(kube, 'POST', '/api/v1/namespaces/vault/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'vault-configure' } });
    // The shipped config, pointed at this PostgreSQL, and Vault outside the cluster: the API
    // server's address and CA, and a reviewer JWT.
    const dir = mkdtempSync(join(tmpdir(), 'rotor-root-token-'));
    cpSync(join(SHIPPED, '..', 'policies'), join(dir, 'policies'), { recursive: true });
    config = { dir, file: join(dir, 'config.yaml') };
    const doc = parseDocument(readFileSync(SHIPPED, 'utf8'));
    doc.setIn(['secrets', 0, 'connections', 0, 'connection_url'], db.vaultConnectionUrl());
    // The cluster's DB-admin Job makes vault_admin; here Vault gets the testbed's superuser (PG_ROOT_PASSWORD).
    doc.setIn(['secrets', 0, 'connections', 0, 'username'], db.superuser);
    writeFileSync(join(config.dir, 'kube-ca.crt'), kube.caCert);
    doc.setIn(['auth', 0, 'config', 'kubernetes_host'], kube.url);
    doc.setIn(['auth', 0, 'config', 'kubernetes_ca_cert'], doc.createNode({ fromFile: 'kube-ca.crt' }));
    doc.setIn(['auth', 0, 'config', 'token_reviewer_jwt'], doc.createNode({ fromEnv: 'REVIEWER_JWT' }));
    writeFileSync(config.file, doc.toString());
    keysFile = join(config.dir, 'keys.json');
    configureJwtFile = join(config.dir, 'configure.jwt');
    writeFileSync(configureJwtFile, await serviceAccountToken(kube, 'vault', 'vault-configure'));
    appJwtFile = join(config.dir, 'app.jwt');
    writeFileSync(appJwtFile, await serviceAccountToken(kube, 'app', 'app-auth'));
    tap = new VaultTap({ target: () => node, secrets: harvest });
    await tap.start();
  });

  after(async () => {
    if (config) rmSync(config.dir, { recursive: true, force: true });
    await tap?.stop();
    await Promise.all([kube?.stop(), db?.stop(), bao?.stop()]);
  });

  it('the unsealer initializes, bootstraps the rotor-configure identity with the initial root token, then revokes it: the token fails afterwards', async () => {
    // Only the reviewer JWT: the bootstrap reads nothing of the file but its own part (no PG_ROOT_PASSWORD).
    const run = await rotor(
      ['unseal', '--nodes', tap.address, '--key-store', `file:${keysFile}`, '--shares', '3', '--threshold', '2', '--root-token=revoke', '--bootstrap-config', config.file, '--once', '--json'],
      { REVIEWER_JWT: reviewerJwt },
    );
    assert.equal(run.code, ExitCode.OK, run.stderr);
    assert.match(run.stderr, /"msg":"bootstrap applied"/);
    assert.match(run.stderr, /create auth\/kubernetes\/role\/rotor-configure/);
    assert.match(run.stderr, /"msg":"revoked the initial root token/);
    // The tap saw init's answer: its root_token is the only copy, and it no longer works.
    const init = JSON.parse(readFileSync(keysFile, 'utf8')) as { rootToken?: string };
    assert.equal(init.rootToken, undefined, 'the key store holds no root token');
    rootToken = harvest.tokens.find((t) => t.length > 0) ?? '';
    assert.ok(rootToken, 'the tap harvested the initial root token from the init answer');
    const denied = await new VaultClient({ address: node, token: rootToken, retry: { attempts: 1 } }).auth.lookupSelf().catch((err: unknown) => err);
    assert.ok(isVaultError(denied) && denied.status === 403, `lookup-self with the initial root token: ${String(denied)}`);
    console.log(`# initial root token after bootstrap: ${denied.message.split('\n').join(' ')}`);
    const stored = await rotor(['unseal', 'root-token', '--key-store', `file:${keysFile}`], {});
    assert.equal(stored.code, ExitCode.APPLY_FAILED);
    assert.match(stored.stderr, /no root token is stored/);
  });

  it('rotor configure logs in as vault/vault-configure and applies the whole shipped config under rotor-configure; a second plan has no changes', async () => {
    const login = ['--k8s-role', 'rotor-configure', '--k8s-token-file', configureJwtFile];
    const apply = await rotor(['configure', 'apply', '-c', config.file, ...login], configureEnv());
    assert.equal(apply.code, ExitCode.OK, apply.stderr);
    assert.match(apply.stderr, /logged in to .* with kubernetes auth \(mount kubernetes, role rotor-configure, policies default,rotor-configure\)/);
    assert.match(apply.stdout, /done: POST database\/rotate-root\/postgres/);
    const plan = await rotor(['configure', 'plan', '-c', config.file, ...login], configureEnv());
    assert.equal(plan.code, ExitCode.OK, plan.stderr);
    assert.match(plan.stdout, /^No changes: Vault matches the configuration/m);
  });

  it('the rotor-configure token is least privilege, and only vault/vault-configure gets it', async () => {
    const anonymous = new VaultClient({ address: node, retry: { attempts: 1 } });
    const auth = await anonymous.auth.loginKubernetes({ role: 'rotor-configure', jwt: readFileSync(configureJwtFile, 'utf8') });
    assert.deepEqual(auth.tokenPolicies, ['default', 'rotor-configure']);
    const configure = anonymous.withToken(auth.clientToken);
    const denials: string[] = [];
    for (const [method, path] of [['GET', 'database/creds/db-reader-role'], ['PUT', 'sys/mounts/kv'], ['PUT', 'auth/token/create'], ['GET', 'sys/raft/configuration'], ['PUT', 'sys/seal']] as const) {
      const err = await configure.request(method, path, method === 'PUT' ? { body: {} } : {}).then(() => undefined, (e: unknown) => e);
      assert.ok(isVaultError(err) && err.status === 403, `${method} ${path} must be refused: ${String(err)}`);
      denials.push(`${method} ${path} -> ${err.status}`);
    }
    console.log(`# rotor-configure denied: ${denials.join('; ')}`);
    const other = await anonymous.auth.loginKubernetes({ role: 'rotor-configure', jwt: readFileSync(appJwtFile, 'utf8') }).catch((e: unknown) => e);
    assert.ok(isVaultError(other) && other.status === 403, `app/app-auth must not log in as rotor-configure: ${String(other)}`);
    console.log(`# app/app-auth as rotor-configure: ${other.message.split('\n').join(' ')}`);
    await configure.auth.revokeSelf();
  });

  it('a database user\'s name shows the service account and namespace that asked (username_template), as a real PostgreSQL role', async () => {
    const app = await new VaultClient({ address: node, retry: { attempts: 1 } }).auth.loginKubernetes({ role: 'app-creds-reader-role', jwt: readFileSync(appJwtFile, 'utf8') });
    const client = new VaultClient({ address: node, token: app.clientToken, retry: { attempts: 1 } });
    const { data, leaseId } = await client.database.creds('db-reader-role');
    console.log(`# database user issued to app/app-auth: ${data.username}`);
    assert.match(data.username, /^v-app-app-auth-db-reader-role-[A-Za-z0-9]{8}$/);
    // The root password was rotated away: the issued user itself shows the role exists and logs in.
    const sql = new pg.Client({ connectionString: db.url(data.username, data.password) });
    await sql.connect();
    try {
      const who = await sql.query<{ user: string; rows: string }>('SELECT current_user AS user, count(*)::text AS rows FROM users');
      assert.deepEqual(who.rows[0], { user: data.username, rows: '0' });
    } finally {
      await sql.end();
    }
    await client.request('PUT', 'sys/leases/revoke', { body: { lease_id: leaseId } });
  });

  it('--prune never deletes the rotor-configure policy and role, even when the file leaves them out', async () => {
    const doc = parseDocument(readFileSync(config.file, 'utf8'));
    const roles = (doc.toJS() as { auth: { roles: { name: string }[] }[] }).auth[0]?.roles ?? [];
    doc.deleteIn(['auth', 0, 'roles', roles.findIndex((r) => r.name === 'rotor-configure')]);
    const policies = (doc.toJS() as { policies: { name: string }[] }).policies;
    doc.deleteIn(['policies', policies.findIndex((p) => p.name === 'rotor-configure')]);
    const without = join(config.dir, 'without-configure.yaml');
    writeFileSync(without, doc.toString());
    const run = await rotor(['configure', 'apply', '-c', without, '--prune', '--k8s-role', 'rotor-configure', '--k8s-token-file', configureJwtFile], configureEnv());
    assert.equal(run.code, ExitCode.OK, run.stderr);
    assert.doesNotMatch(run.stdout, /rotor-configure/);
    const again = await rotor(['configure', 'plan', '-c', config.file, '--k8s-role', 'rotor-configure', '--k8s-token-file', configureJwtFile], configureEnv());
    assert.equal(again.code, ExitCode.OK, again.stderr);
    assert.match(again.stdout, /^No changes/m);
  });

  it('break-glass: rotor unseal generate-root prints a new root token on stdout only; revoked, it fails too', async () => {
    // An attempt someone left in progress (generate-root needs no token, only key shares) is refused, not taken over.
    await new VaultClient({ address: node, retry: { attempts: 1 } }).request('PUT', 'sys/generate-root/attempt', { body: {} });
    const busy = await rotor(['unseal', 'generate-root', '--address', node, '--key-store', `file:${keysFile}`], {});
    assert.equal(busy.code, ExitCode.APPLY_FAILED, busy.stderr);
    assert.match(busy.stderr, /a generate-root attempt is already in progress \(0\/2 shares\); pass --cancel-existing/);
    const run = await rotor(['unseal', 'generate-root', '--address', node, '--key-store', `file:${keysFile}`, '--cancel-existing'], {});
    assert.equal(run.code, ExitCode.OK, run.stderr);
    const token = run.stdout.trim();
    assert.match(token, /^\S{20,}$/);
    assert.equal(run.stderr.includes(token), false);
    assert.notEqual(token, rootToken);
    const root = new VaultClient({ address: node, token, retry: { attempts: 1 } });
    const self = (await root.request('GET', 'auth/token/lookup-self')) as { data: { policies: string[] } };
    assert.deepEqual(self.data.policies, ['root']);
    const attempt = await root.request('GET', 'sys/generate-root/attempt');
    assert.equal((attempt as { started: boolean }).started, false, 'no attempt left in progress');
    await root.auth.revokeSelf();
    const denied = await root.request('GET', 'auth/token/lookup-self').catch((e: unknown) => e);
    assert.ok(isVaultError(denied) && denied.status === 403, String(denied));
    harvest.add('root token', token);
  });

  it('no root token, unseal key, JWT or database password in any output', () => {
    const keys = JSON.parse(readFileSync(keysFile, 'utf8')) as { keys: string[] };
    for (const key of keys.keys) harvest.addKey('unseal key', key);
    harvest.add('reviewer jwt', reviewerJwt);
    harvest.add('service account jwt', readFileSync(configureJwtFile, 'utf8'));
    harvest.add('db password', db.superuserPassword);
    // generate-root's own stdout is where its token belongs: scanned without it.
    const logs = runs
      .map((r) => ({ name: r.args.slice(0, 2).join(' '), text: `${r.stderr}${r.args[1] === 'generate-root' ? '' : r.stdout}` }))
      .filter((l) => l.text.length > 0);
    assertNoSecretsInLogs(logs, harvest);
  });
});
