// `rotor rotate --role R` against real servers: OpenBao's database engine,
// PostgreSQL, users-api (its own main.ts) holding its own lease under HTTP load,
// and the consumer census from pods in a real kube-apiserver. Direct-mode
// consumers swap with zero failed requests; a pod that cannot swap in place
// (init container) makes rotate refuse until it has been replaced.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { parse } from 'yaml';
import { freePort, kubeOk, ServerProcess, startKubeApiserver, startOpenBao, startPostgres, waitFor, vaultAdmin, type KubeApiserver, type OpenBaoDevServer, type PostgresServer } from '@rotor/testbed';
import { VaultClient } from '@rotor/vault-client';
import type { RotateReport } from '../src/commands/rotate.ts';
import { rotor } from './cli.ts';

const ROLE = 'db-reader-role';
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const INIT_ANNOTATIONS = {
  'vault.hashicorp.com/agent-inject': 'true',
  'vault.hashicorp.com/agent-pre-populate-only': 'true',
  'vault.hashicorp.com/role': 'app-creds-reader-role',
  'vault.hashicorp.com/agent-inject-secret-db-creds.json': `database/creds/${ROLE}`,
};

describe('rotor rotate (users-api in direct mode under load, pods in a kube-apiserver)', { timeout: 300_000 }, () => {
  let db: PostgresServer;
  let bao: OpenBaoDevServer;
  let kube: KubeApiserver;
  let vault: VaultClient;
  let admin: pg.Pool;
  let dir: string;
  let api: ServerProcess | undefined;
  let apiUrl: string;
  let env: Record<string, string>;
  const secrets: string[] = [];

  const pod = (name: string, spec: { annotations?: Record<string, string>; env?: Record<string, string>; owner?: string }) =>
    kubeOk(kube, 'POST', '/api/v1/namespaces/app/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: 'app',
        annotations: spec.annotations ?? {},
        ...(spec.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: spec.owner, uid: '00000000-0000-0000-0000-000000000001' }] } : {}),
      },
      spec: { serviceAccountName: 'app-auth', containers: [{ name: 'users-api', image: 'registry.example/users-api:test', env: Object.entries(spec.env ?? {}).map(([k, v]) => ({ name: k, value: v })) }] },
    });
  const liveLeases = async (): Promise<string[]> => {
    try {
      const keys = (await vault.request('LIST', `sys/leases/lookup/database/creds/${ROLE}`)) as { data: { keys: string[] } };
      return keys.data.keys.map((k) => `database/creds/${ROLE}/${k}`);
    } catch {
      return [];
    }
  };
  const rotate = async (args: string[], extra: Record<string, string> = {}): Promise<{ code: number; report?: RotateReport; stdout: string; stderr: string }> => {
    const run = await rotor(['rotate', '--role', ROLE, '--namespaces', 'app', ...args], { ...env, ...extra });
    for (const s of secrets) assert.ok(!run.stdout.includes(s) && !run.stderr.includes(s), 'a secret reached the output');
    return { ...run, ...(run.stdout.startsWith('{') ? { report: JSON.parse(run.stdout) as RotateReport } : {}) };
  };

  before(async () => {
    [db, bao, kube] = await Promise.all([startPostgres(), startOpenBao({ mode: 'dev' }), startKubeApiserver()]);
    dir = mkdtempSync(join(tmpdir(), 'rotor-rotate-'));
    admin = new pg.Pool({ connectionString: db.url(), max: 2 });
    admin.on('error', () => undefined);
    await admin.query(`CREATE TABLE users (id serial NOT NULL UNIQUE, title varchar(255) NOT NULL, name varchar(255))`);
    await admin.query(`INSERT INTO users (id, title, name) VALUES (1, 'sre', 'sakib'), (2, 'manager', 'hanifa')`);
    vault = new VaultClient({ address: bao.address, token: bao.rootToken });
    await vaultAdmin.enableMount(vault, 'database', { type: 'database' });
    await vaultAdmin.writeConfig(vault, 'postgres', { pluginName: 'postgresql-database-plugin', allowedRoles: [ROLE], connectionUrl: db.vaultConnectionUrl(), username: db.superuser, password: db.superuserPassword });
    // The shipped role's statements: its revocation ends the user's sessions, so in-flight statements
    // of a direct-mode consumer see their backend terminated, not only a refused login.
    const shipped = (parse(readFileSync(join(REPO, 'deploy/vault/config.yaml'), 'utf8')) as { secrets: Array<{ roles?: Array<{ name: string; creation_statements: string[]; revocation_statements?: string[] }> }> }).secrets
      .flatMap((engine) => engine.roles ?? [])
      .find((r) => r.name === ROLE);
    assert.ok(shipped, `${ROLE} in deploy/vault/config.yaml`);
    await vaultAdmin.writeRole(vault, ROLE, {
      dbName: 'postgres',
      creationStatements: shipped.creation_statements,
      ...(shipped.revocation_statements ? { revocationStatements: shipped.revocation_statements } : {}),
      defaultTtl: 3600,
      maxTtl: 7200,
    });
    // users-api's own token: the shipped app-policy (read its creds, revoke its leases).
    await vaultAdmin.writePolicy(vault, 'app-policy', `path "database/creds/${ROLE}" { capabilities = ["read"] }\npath "sys/leases/revoke" { capabilities = ["update"] }`);
    const created = (await vault.request('POST', 'auth/token/create', { body: { policies: ['app-policy'], ttl: '1h' } })) as { auth: { client_token: string } };
    const appToken = created.auth.client_token;
    secrets.push(appToken, bao.rootToken, db.superuserPassword);

    const port = await freePort('127.0.0.1');
    apiUrl = `http://127.0.0.1:${port}`;
    mkdirSync(join(dir, 'api'));
    api = new ServerProcess({
      name: 'users-api (vault mode)',
      command: process.execPath,
      args: ['--import', 'tsx', '--conditions=rotor-source', join(REPO, 'services/users-api/src/main.ts')],
      logFile: join(dir, 'api', 'users-api.log'),
      cwd: REPO,
      env: {
        PATH: process.env.PATH,
        HOST: '127.0.0.1',
        PORT: String(port),
        DB_HOST: db.host,
        DB_PORT: String(db.port),
        DB_NAME: db.database,
        SHUTDOWN_DELAY_MS: '0',
        LOG_LEVEL: 'info',
        CREDENTIALS_MODE: 'vault',
        VAULT_ADDR: bao.address,
        VAULT_AUTH_METHOD: 'token',
        VAULT_TOKEN: appToken,
        VAULT_DB_ROLE: ROLE,
      },
    });
    const running = api;
    await waitFor('users-api /readyz', async () => ((await fetch(`${apiUrl}/readyz`).then((r) => r.status).catch(() => 0)) === 200 ? true : undefined), { timeoutMs: 60_000, signal: running.exitSignal }).catch((err: unknown) => {
      throw running.failure('did not become ready', err);
    });

    await kubeOk(kube, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'app' } });
    await kubeOk(kube, 'POST', '/api/v1/namespaces/app/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'app-auth', namespace: 'app' } });
    // The running users-api, as its pod spec declares it.
    await pod('users-api-direct', { env: { CREDENTIALS_MODE: 'vault', VAULT_DB_ROLE: ROLE } });
    env = { VAULT_ADDR: bao.address, VAULT_TOKEN: bao.rootToken, KUBECONFIG: kube.kubeconfigPath };
  });
  after(async () => {
    await api?.stop();
    await admin?.end().catch(() => undefined);
    await Promise.allSettled([db?.stop(), bao?.stop(), kube?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('direct-mode consumers only: every lease revoked, users-api swaps with zero failed requests', async () => {
    // Two more holders of the role, as other direct-mode replicas would be.
    const extra = await Promise.all([vault.database.creds(ROLE), vault.database.creds(ROLE)]);
    secrets.push(...extra.map((l) => l.data.password));
    const before = await liveLeases();
    assert.equal(before.length, 3, 'users-api\'s lease and two more');
    const usersBefore = (await admin.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE 'v-%'`)).rows.map((r) => r.rolname);

    let requests = 0;
    const failures: string[] = [];
    let loading = true;
    const loop = async (): Promise<void> => {
      while (loading) {
        const answer = await fetch(`${apiUrl}/users/${1 + (requests % 2)}`).then(async (r) => ({ status: r.status, text: await r.text() }), (err: unknown) => ({ status: 0, text: String(err) }));
        requests++;
        if (answer.status !== 200) failures.push(`${answer.status} ${answer.text}`);
      }
    };
    const loops = [loop(), loop(), loop(), loop()];
    try {
      await waitFor('load to be running', () => Promise.resolve(requests > 50 ? true : undefined), { timeoutMs: 20_000 });
      const run = await rotate(['--json']);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.deepEqual(run.report?.consumers.map((c) => [c.pod, c.mode]), [['users-api-direct', 'direct']]);
      assert.deepEqual([...(run.report?.revoked ?? [])].sort(), [...before].sort());
      assert.deepEqual(run.report?.blocked, []);
      // users-api notices at its next query, gets new credentials and retries: keep the load on past that.
      const at = requests;
      await waitFor('requests after the rotation', () => Promise.resolve(requests > at + 200 ? true : undefined), { timeoutMs: 30_000 });
    } finally {
      loading = false;
      await Promise.all(loops);
    }
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${requests} requests failed; users-api ${api?.running ? 'running' : `exited (${api?.describeExit() ?? '?'})`}:\n${api?.logTail() ?? ''}`);
    const after = await liveLeases();
    assert.equal(after.filter((id) => before.includes(id)).length, 0, 'no old lease is left');
    assert.equal(after.length, 1, 'users-api holds a new lease');
    const usersAfter = (await admin.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE 'v-%'`)).rows.map((r) => r.rolname);
    assert.equal(usersAfter.filter((u) => usersBefore.includes(u)).length, 0, 'Vault dropped every old database user');
    assert.equal(usersAfter.length, 1);
  });

  it('an init-container pod that may hold a lease: refused (exit 6), nothing revoked, told how to replace it', async () => {
    await pod('users-api-7d4b9c6f5d-x2k8p', { annotations: INIT_ANNOTATIONS, owner: 'users-api-7d4b9c6f5d' });
    const held = await vault.database.creds(ROLE); // what its init container would have fetched
    secrets.push(held.data.password);
    const before = await liveLeases();
    const run = await rotate(['--json']);
    assert.equal(run.code, 6, run.stdout + run.stderr);
    assert.deepEqual(run.report?.revoked, []);
    assert.ok(run.report?.blocked.some((b) => b.leaseId === held.leaseId && b.pods.includes('app/users-api-7d4b9c6f5d-x2k8p (init-container)')));
    assert.deepEqual(run.report?.advice, ['kubectl -n app rollout restart deployment/users-api   (init-container pods get new credentials only when replaced)']);
    assert.deepEqual((await liveLeases()).sort(), before.sort(), 'nothing was revoked');
    const text = await rotate([]);
    assert.equal(text.code, 6);
    assert.match(text.stdout, /Replace those pods first/);
    assert.match(text.stdout, /rotor rotate --role db-reader-role --issued-before/);
    assert.match(text.stderr, /refused: \d+ lease\(s\) may be held by pods that cannot swap in place; nothing revoked/);
    const dry = await rotate(['--dry-run', '--json']);
    assert.equal(dry.code, 6);
    assert.deepEqual((await liveLeases()).sort(), before.sort());
  });

  it('after the pod is replaced, --issued-before revokes what it held and spares what the new pod holds', async () => {
    const cutoff = new Date();
    await kubeOk(kube, 'DELETE', '/api/v1/namespaces/app/pods/users-api-7d4b9c6f5d-x2k8p?gracePeriodSeconds=0');
    await waitFor('the pod to be gone', async () => ((await kubeOk<{ items: unknown[] }>(kube, 'GET', '/api/v1/namespaces/app/pods?fieldSelector=metadata.name%3Dusers-api-7d4b9c6f5d-x2k8p')).items.length === 0 ? true : undefined), { timeoutMs: 30_000 });
    // Pod creation and lease issue times are whole seconds apart at least.
    await waitFor('a new second', () => Promise.resolve(Date.now() - cutoff.getTime() > 6_000 ? true : undefined), { timeoutMs: 10_000, intervalMs: 200 });
    await pod('users-api-7d4b9c6f5d-n3w9q', { annotations: INIT_ANNOTATIONS, owner: 'users-api-7d4b9c6f5d' });
    const fresh = await vault.database.creds(ROLE); // the new pod's init container
    secrets.push(fresh.data.password);
    const older = (await liveLeases()).filter((id) => id !== fresh.leaseId);

    const run = await rotate(['--issued-before', cutoff.toISOString(), '--json']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.deepEqual([...(run.report?.revoked ?? [])].sort(), older.sort());
    assert.deepEqual(await liveLeases().then((ids) => ids.filter((id) => id === fresh.leaseId)), [fresh.leaseId], 'the new pod\'s lease stays');
    // users-api (direct) was among the older holders: it is serving again on new credentials.
    await waitFor('users-api to answer', async () => ((await fetch(`${apiUrl}/users/1`).then((r) => r.status)) === 200 ? true : undefined), { timeoutMs: 15_000 });
  });

  it('--force revokes despite the check; without Kubernetes access only --force proceeds', async () => {
    const forced = await rotate(['--force', '--json']);
    assert.equal(forced.code, 0, forced.stdout + forced.stderr);
    assert.equal(forced.report?.forced, true);
    assert.ok((forced.report?.blocked.length ?? 0) > 0, 'the check still reports what it would have kept');
    const home = join(dir, 'no-kube');
    mkdirSync(home);
    const noKube = await rotate(['--json'], { KUBECONFIG: join(home, 'missing'), HOME: home });
    assert.equal(noKube.code, 4, noKube.stdout + noKube.stderr);
    assert.match(noKube.stderr, /cannot list the pods of app .*--force revokes without this check/);
    const blind = await rotate(['--force', '--json'], { KUBECONFIG: join(home, 'missing'), HOME: home });
    assert.equal(blind.code, 0, blind.stdout + blind.stderr);
    assert.equal(blind.report?.consumersChecked, false);
  });
});
