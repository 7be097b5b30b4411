// `rotor scaffold service NAME` against real servers: its Kubernetes objects
// pass a server-side dry-run (strict fields) on a real kube-apiserver in every
// delivery mode, its annotations are ones the injector understands, and its
// Vault part, merged into the shipped deploy/vault/config.yaml and applied with
// `rotor configure apply` to OpenBao, lets the new service account log in and
// get credentials limited to exactly what was asked.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { parse, parseAllDocuments, stringify } from 'yaml';
import {
  createKubernetesAuthObjects,
  kubeOk,
  kubeRequest,
  mutatePod,
  serviceAccountToken,
  startKubeApiserver,
  startOpenBao,
  startPostgres,
  type KubeApiserver,
  type OpenBaoDevServer,
  type Pod,
  type PostgresServer,
} from '@rotor/testbed';
import { VaultClient, isVaultError } from '@rotor/vault-client';
import type { Scaffold } from '../src/scaffold/service.ts';
import { rotor } from './cli.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

type KubeObject = { apiVersion: string; kind: string; metadata: { name: string; namespace: string } };

const PLURAL: Record<string, string> = {
  ServiceAccount: 'serviceaccounts',
  Service: 'services',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  Deployment: 'deployments',
  PodDisruptionBudget: 'poddisruptionbudgets',
  NetworkPolicy: 'networkpolicies',
};

function collectionPath(o: KubeObject): string {
  const plural = PLURAL[o.kind];
  assert.ok(plural, `unexpected kind ${o.kind}`);
  const base = o.apiVersion === 'v1' ? '/api/v1' : `/apis/${o.apiVersion}`;
  return `${base}/namespaces/${o.metadata.namespace}/${plural}`;
}

describe('rotor scaffold service (kube-apiserver dry-run, OpenBao, PostgreSQL)', { timeout: 300_000 }, () => {
  let kube: KubeApiserver;
  let bao: OpenBaoDevServer;
  let db: PostgresServer;
  let dir: string;
  let reviewerJwt: string;

  before(async () => {
    [kube, bao, db] = await Promise.all([startKubeApiserver(), startOpenBao({ mode: 'dev' }), startPostgres()]);
    dir = mkdtempSync(join(tmpdir(), 'rotor-scaffold-'));
    ({ reviewerJwt } = await createKubernetesAuthObjects(kube));
    await kubeOk(kube, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
  });
  after(async () => {
    await Promise.allSettled([kube?.stop(), bao?.stop(), db?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const cases: Array<{ mode: string; name: string; args: string[]; namespace: string }> = [
    { mode: 'init-container', name: 'orders-api', args: [], namespace: 'app' },
    { mode: 'sidecar', name: 'orders-writer', args: ['--mode', 'sidecar', '--access', 'write'], namespace: 'app' },
    { mode: 'direct', name: 'orders-api', args: ['--mode', 'direct', '--namespace', 'shop', '--tables', 'orders'], namespace: 'shop' },
  ];

  for (const c of cases) {
    it(`${c.mode}: every object passes a strict server-side dry-run; the injector model accepts the pod`, async () => {
      const run = await rotor(['scaffold', 'service', c.name, '--only', 'kubernetes', ...c.args]);
      assert.equal(run.code, 0, run.stderr);
      const objects = parseAllDocuments(run.stdout).map((d) => d.toJS() as KubeObject).filter((o) => o !== null);
      const kinds = objects.map((o) => o.kind);
      assert.deepEqual(kinds, [
        'ServiceAccount',
        ...(c.mode === 'init-container' ? ['Role', 'RoleBinding'] : []),
        'Service',
        'Deployment',
        'PodDisruptionBudget',
        'NetworkPolicy',
      ]);
      for (const o of objects) {
        assert.equal(o.metadata.namespace, c.namespace);
        const res = await kubeRequest(kube, 'POST', `${collectionPath(o)}?dryRun=All&fieldValidation=Strict`, o);
        assert.ok(res.status === 201 || res.status === 200, `${o.kind} ${o.metadata.name}: ${res.status} ${JSON.stringify(res.body)}`);
      }
      // The pod as the API server admits it (ServiceAccount admission mounts the token the agent
      // logs in with), then the injector's mutation, modelled (docs/testbed.md).
      const sa = objects.find((o) => o.kind === 'ServiceAccount');
      assert.ok(sa);
      const created = await kubeRequest(kube, 'POST', collectionPath(sa), sa);
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const deployment = objects.find((o) => o.kind === 'Deployment') as unknown as { metadata: { namespace: string }; spec: { template: { metadata: object; spec: object } } };
      const template = deployment.spec.template;
      const admitted = await kubeOk<Pod>(kube, 'POST', `/api/v1/namespaces/${deployment.metadata.namespace}/pods?dryRun=All&fieldValidation=Strict`, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { ...template.metadata, name: `${c.name}-0` },
        spec: template.spec,
      });
      const mutated = mutatePod(admitted, { vaultAddress: 'http://vault.vault.svc:8200', authPath: 'auth/kubernetes', image: 'hashicorp/vault:1.20' });
      const containers = [...(mutated.spec.initContainers ?? []), ...mutated.spec.containers].map((x) => x.name);
      if (c.mode === 'init-container') assert.deepEqual(containers, ['vault-agent-init', c.name]);
      if (c.mode === 'sidecar') assert.deepEqual(containers, ['vault-agent-init', c.name, 'vault-agent']);
      if (c.mode === 'direct') assert.deepEqual(containers, [c.name], 'no agent in direct mode');
    });
  }

  it('a misspelt field is refused by the same dry-run (the check can fail)', async () => {
    const run = await rotor(['scaffold', 'service', 'orders-api', '--json']);
    const scaffold = JSON.parse(run.stdout) as Scaffold;
    const pdb = structuredClone(scaffold.kubernetes.find((o) => o.kind === 'PodDisruptionBudget')) as { spec: Record<string, unknown> } & KubeObject;
    pdb.spec.maxUnavailabel = 1;
    const res = await kubeRequest(kube, 'POST', `${collectionPath(pdb)}?dryRun=All&fieldValidation=Strict`, pdb);
    assert.equal(res.status, 400);
  });

  it('its Vault part, merged into deploy/vault/config.yaml and applied: the new service logs in and gets only what it asked for', async () => {
    const admin = new pg.Client({ connectionString: db.url() });
    await admin.connect();
    try {
      await admin.query(`CREATE TABLE users (id serial PRIMARY KEY, title varchar(255) NOT NULL, name varchar(255))`);
      await admin.query(`CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL)`);
      await admin.query(`INSERT INTO orders (item) VALUES ('tea')`);
    } finally {
      await admin.end();
    }
    const run = await rotor(['scaffold', 'service', 'orders-api', '--tables', 'orders', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const scaffold = JSON.parse(run.stdout) as Scaffold;

    // The shipped file, adapted to the testbed as testbed/test/agent-injector.int.test.ts does, plus the scaffold.
    const config = parse(readFileSync(join(REPO, 'deploy/vault/config.yaml'), 'utf8')) as {
      auth: Array<{ path: string; type: string; config: Record<string, unknown>; roles: unknown[] }>;
      policies: Array<{ name: string; file?: string }>;
      secrets: Array<{ path: string; type: string; connections?: Array<Record<string, unknown> & { name: string; allowed_roles: string[] }>; roles?: unknown[] }>;
    };
    const kubernetes = config.auth.find((a) => a.path === scaffold.input.authMount);
    assert.ok(kubernetes);
    writeFileSync(join(dir, 'kube-ca.crt'), kube.caCert);
    kubernetes.config = { ...kubernetes.config, kubernetes_host: kube.url, kubernetes_ca_cert: { fromFile: 'kube-ca.crt' }, token_reviewer_jwt: { fromEnv: 'REVIEWER_JWT' }, disable_local_ca_jwt: true };
    for (const policy of config.policies) if (policy.file !== undefined) policy.file = join(REPO, 'deploy/vault', policy.file);
    const engine = config.secrets.find((s) => s.path === scaffold.input.mount);
    assert.ok(engine?.roles && engine.connections);
    for (const connection of engine.connections) {
      connection.connection_url = db.vaultConnectionUrl();
      connection.username = db.superuser;
      connection.rotate_root = false;
    }
    const env = { VAULT_ADDR: bao.address, VAULT_TOKEN: bao.rootToken, PG_ROOT_PASSWORD: db.superuserPassword, REVIEWER_JWT: reviewerJwt };
    const shipped = join(dir, 'shipped.yaml');
    writeFileSync(shipped, stringify(config));
    const base = await rotor(['configure', 'apply', '-c', shipped], env);
    assert.equal(base.code, 0, base.stdout + base.stderr);

    // The scaffold's four additions, as docs/adding-a-service.md tells them.
    kubernetes.roles.push(scaffold.vault.authRole);
    writeFileSync(join(dir, `${scaffold.names.policy}.hcl`), scaffold.vault.policyHcl);
    config.policies.push({ name: scaffold.vault.policyEntry.name, file: join(dir, `${scaffold.names.policy}.hcl`) });
    engine.roles.push(scaffold.vault.databaseRole);
    engine.connections.find((c) => c.name === scaffold.vault.allowedRole.connection)?.allowed_roles.push(scaffold.vault.allowedRole.role);
    const file = join(dir, 'vault-config.yaml');
    writeFileSync(file, stringify(config));
    // What the additions change: the plan of the merged file minus whatever the shipped file alone
    // would still change (nothing, once the shipped file is idempotent).
    const changesOf = async (config: string): Promise<string[]> => {
      const plan = await rotor(['configure', 'plan', '-c', config, '--json'], env);
      assert.equal(plan.code, 0, plan.stderr);
      return (JSON.parse(plan.stdout) as { changes: Array<{ op: string; id: string }> }).changes.filter((c) => c.op !== 'unchanged').map((c) => `${c.op} ${c.id}`);
    };
    const already = new Set(await changesOf(shipped));
    assert.deepEqual(
      (await changesOf(file)).filter((c) => !already.has(c)).sort(),
      ['create auth/kubernetes/role/orders-api-creds-role', 'create database/roles/orders-api-db-role', 'create sys/policies/acl/orders-api-policy', 'update database/config/postgres'],
      'three creates and the connection\'s allowed_roles, as the guide says',
    );
    const applied = await rotor(['configure', 'apply', '-c', file], env);
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);

    // The service account from the scaffold's manifests (created by the dry-run cases above).
    const sa = scaffold.kubernetes.find((o) => o.kind === 'ServiceAccount') as unknown as KubeObject;
    const created = await kubeRequest(kube, 'POST', collectionPath(sa), sa);
    assert.ok(created.status === 201 || created.status === 409);
    const jwt = await serviceAccountToken(kube, 'app', 'orders-api');
    const vault = new VaultClient({ address: bao.address });
    const login = await vault.auth.loginKubernetes({ role: scaffold.names.authRole, jwt });
    const app = vault.withToken(login.clientToken);
    const lease = await app.database.creds(scaffold.names.databaseRole);
    const other = await app.database.creds('db-reader-role').then(() => 'granted', (err: unknown) => (isVaultError(err) ? err.code : String(err)));
    assert.equal(other, 'VAULT_PERMISSION_DENIED', "another service's role stays out of reach");

    const client = new pg.Client({ host: db.host, port: db.port, database: db.database, user: lease.data.username, password: lease.data.password });
    await client.connect();
    try {
      assert.deepEqual((await client.query('SELECT item FROM orders')).rows, [{ item: 'tea' }]);
      const sqlstate = (sql: string) => client.query(sql).then(() => 'ok', (err: unknown) => (err as { code?: string }).code);
      assert.equal(await sqlstate(`INSERT INTO orders (item) VALUES ('coffee')`), '42501', 'read access only');
      assert.equal(await sqlstate('SELECT * FROM users'), '42501', 'only the tables asked for');
    } finally {
      await client.end();
    }
    assert.ok(!run.stdout.includes(lease.data.password));
  });
});
