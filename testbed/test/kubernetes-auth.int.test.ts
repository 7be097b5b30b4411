// Issue 7, "Kubernetes auth, end to end": a real OpenBao validates service-account
// tokens of the testbed's real kube-apiserver through TokenReview, and only the
// seed's app-auth service account in namespace app gets SELECT-only credentials
// for a real PostgreSQL.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import {
  kubeOk,
  kubeRequest,
  serviceAccountToken,
  startKubeApiserver,
  startOpenBao,
  startPostgres,
  waitFor,
  type KubeApiserver,
  type OpenBaoDevServer,
  type PostgresServer,
} from '../src/index.ts';
import { vault, vaultOk } from './vault-http.ts';

const AUDIENCE = 'vault';
const READER_SQL = `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';
GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";`;
const WRITER_SQL = `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{{name}}";`;

interface Login {
  auth: { client_token: string; policies: string[]; metadata: Record<string, string> };
}
interface Creds {
  data: { username: string; password: string };
}

/** A JWT with the given header and claims, RS256-signed by `key`. */
function signJwt(header: object, claims: object, key: KeyObject): string {
  const encode = (part: object): string => Buffer.from(JSON.stringify(part)).toString('base64url');
  const input = `${encode(header)}.${encode(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

function decodeJwt(token: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [header = '', claims = ''] = token.split('.');
  const decode = (part: string): Record<string, unknown> => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
  return { header: decode(header), claims: decode(claims) };
}

describe('Kubernetes auth, end to end', { timeout: 300_000 }, () => {
  let kube: KubeApiserver;
  let bao: OpenBaoDevServer;
  let db: PostgresServer;
  let reviewerJwt: string;

  const create = (path: string, body: object): Promise<unknown> => kubeOk(kube, 'POST', path, body);
  const namespace = (name: string): Promise<unknown> => create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  const serviceAccount = (ns: string, name: string): Promise<unknown> =>
    create(`/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } });
  const login = (jwt: string): ReturnType<typeof vault<Login>> =>
    vault<Login>(bao.address, undefined, 'POST', 'auth/kubernetes/login', { role: 'app-creds-reader-role', jwt });
  const appToken = (options: Parameters<typeof serviceAccountToken>[3] = {}): Promise<string> =>
    serviceAccountToken(kube, 'app', 'app-auth', { audiences: [AUDIENCE], ...options });

  before(async () => {
    [kube, bao, db] = await Promise.all([startKubeApiserver(), startOpenBao({ mode: 'dev' }), startPostgres()]);

    for (const ns of ['app', 'vault', 'other']) await namespace(ns);
    await serviceAccount('app', 'app-auth');
    await serviceAccount('app', 'not-app-auth');
    await serviceAccount('vault', 'vault');
    await serviceAccount('other', 'app-auth');
    // The reviewer token carries the apiserver's own audience: it authenticates OpenBao to the API.
    reviewerJwt = await serviceAccountToken(kube, 'vault', 'vault');

    const client = new pg.Client({ connectionString: db.url(), connectionTimeoutMillis: 5_000 });
    await client.connect();
    try {
      await client.query('CREATE TABLE users (id serial NOT NULL UNIQUE, title varchar(255) NOT NULL, name varchar(255))');
      await client.query(`INSERT INTO users(id, title, name) VALUES (1, 'sre', 'sakib'), (2, 'manager', 'hanifa')`);
    } finally {
      await client.end();
    }

    const t = bao.rootToken;
    await vaultOk(bao.address, t, 'POST', 'sys/mounts/database', { type: 'database' });
    await vaultOk(bao.address, t, 'POST', 'database/config/postgres', {
      plugin_name: 'postgresql-database-plugin',
      allowed_roles: 'db-reader-role,db-writer-role',
      connection_url: db.vaultConnectionUrl(),
      username: db.superuser,
      password: db.superuserPassword,
    });
    await vaultOk(bao.address, t, 'POST', 'database/roles/db-reader-role', { db_name: 'postgres', creation_statements: READER_SQL, default_ttl: '1h' });
    await vaultOk(bao.address, t, 'POST', 'database/roles/db-writer-role', { db_name: 'postgres', creation_statements: WRITER_SQL, default_ttl: '1h' });
    await vaultOk(bao.address, t, 'POST', 'sys/policies/acl/app-policy', {
      policy: 'path "database/creds/db-reader-role" {\n  capabilities = ["read"]\n}\n',
    });
    await vaultOk(bao.address, t, 'POST', 'sys/auth/kubernetes', { type: 'kubernetes' });
    await vaultOk(bao.address, t, 'POST', 'auth/kubernetes/config', {
      kubernetes_host: kube.url,
      kubernetes_ca_cert: kube.caCert,
      token_reviewer_jwt: reviewerJwt,
      // OpenBao runs outside a pod here: there is no mounted service-account token to fall back to.
      disable_local_ca_jwt: true,
    });
    await vaultOk(bao.address, t, 'POST', 'auth/kubernetes/role/app-creds-reader-role', {
      bound_service_account_names: ['app-auth'],
      bound_service_account_namespaces: ['app'],
      audience: AUDIENCE,
      token_policies: ['app-policy'],
      token_ttl: '1h',
    });
  });

  after(async () => {
    await Promise.all([kube?.stop(), bao?.stop(), db?.stop()]);
  });

  it('the reviewer may call TokenReview only once bound to system:auth-delegator', async () => {
    const tokenReview = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: reviewerJwt } };
    const before = await kubeRequest(kube, 'POST', '/apis/authentication.k8s.io/v1/tokenreviews', tokenReview, { token: reviewerJwt });
    assert.equal(before.status, 403);
    await create('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'vault-token-reviewer' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects: [{ kind: 'ServiceAccount', name: 'vault', namespace: 'vault' }],
    });
    // RBAC is served from an informer cache: the binding takes effect shortly after it is stored.
    await waitFor(
      'the vault service account to be allowed TokenReview',
      async () => {
        const res = await kubeRequest(kube, 'POST', '/apis/authentication.k8s.io/v1/tokenreviews', tokenReview, { token: reviewerJwt });
        return res.status === 201 ? true : undefined;
      },
      { timeoutMs: 30_000 },
    );
  });

  it('app-auth in app logs in, gets app-policy, reads db-reader-role and SELECTs', async () => {
    const { status, json } = await login(await appToken());
    assert.equal(status, 200, JSON.stringify(json));
    assert.ok(json.auth.policies.includes('app-policy'), `policies ${json.auth.policies.join(',')}`);
    assert.equal(json.auth.metadata.service_account_name, 'app-auth');
    assert.equal(json.auth.metadata.service_account_namespace, 'app');

    const creds = await vaultOk<Creds>(bao.address, json.auth.client_token, 'GET', 'database/creds/db-reader-role');
    const client = new pg.Client({ connectionString: db.url(creds.data.username, creds.data.password), connectionTimeoutMillis: 5_000 });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT id, title, name FROM users ORDER BY id');
      assert.deepEqual(rows, [
        { id: 1, title: 'sre', name: 'sakib' },
        { id: 2, title: 'manager', name: 'hanifa' },
      ]);
    } finally {
      await client.end();
    }
  });

  it('the reader asking for writer credentials is refused with 403', async () => {
    const { json } = await login(await appToken());
    const writer = await vault(bao.address, json.auth.client_token, 'GET', 'database/creds/db-writer-role');
    assert.equal(writer.status, 403);
  });

  it('another service-account name is refused', async () => {
    const jwt = await serviceAccountToken(kube, 'app', 'not-app-auth', { audiences: [AUDIENCE] });
    const { status, json } = await login(jwt);
    assert.equal(status, 403);
    assert.match(JSON.stringify(json), /service account name not authorized/);
  });

  it('app-auth of another namespace is refused', async () => {
    const jwt = await serviceAccountToken(kube, 'other', 'app-auth', { audiences: [AUDIENCE] });
    const { status, json } = await login(jwt);
    assert.equal(status, 403);
    assert.match(JSON.stringify(json), /namespace not authorized/);
  });

  it('a token for another audience is refused', async () => {
    const { status } = await login(await serviceAccountToken(kube, 'app', 'app-auth'));
    assert.equal(status, 403);
  });

  it('a forged token (app-auth claims signed by another key) is refused', async () => {
    const { header, claims } = decodeJwt(await appToken());
    const forged = signJwt(header, claims, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
    assert.equal((await login(forged)).status, 403);
  });

  it('an expired token is refused; the same token minted unexpired is accepted', async () => {
    // TokenRequest will not issue under 600 s, so mint with the apiserver's own signing key instead.
    const key = createPrivateKey(readFileSync(kube.serviceAccountSigningKeyFile));
    const { header, claims } = decodeJwt(await appToken());
    const now = Math.floor(Date.now() / 1000);
    const valid = signJwt(header, { ...claims, iat: now - 60, nbf: now - 60, exp: now + 600 }, key);
    assert.equal((await login(valid)).status, 200);
    const expired = signJwt(header, { ...claims, iat: now - 1200, nbf: now - 1200, exp: now - 600 }, key);
    assert.equal((await login(expired)).status, 403);
    // The apiserver agrees on its own, not only OpenBao's local check of `exp`.
    const review = await kubeOk<{ status: { authenticated?: boolean } }>(kube, 'POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token: expired, audiences: [AUDIENCE] },
    });
    assert.notEqual(review.status.authenticated, true);
  });

  it('a token bound to a deleted object is refused once the object is gone', async () => {
    const secret = await kubeOk<{ metadata: { uid: string } }>(kube, 'POST', '/api/v1/namespaces/app/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'token-anchor' },
    });
    const jwt = await appToken({ boundObjectRef: { kind: 'Secret', apiVersion: 'v1', name: 'token-anchor', uid: secret.metadata.uid } });
    assert.equal((await login(jwt)).status, 200);
    await kubeOk(kube, 'DELETE', '/api/v1/namespaces/app/secrets/token-anchor');
    // The apiserver caches successful authentications for a few seconds.
    await waitFor('the token of a deleted Secret to be refused', async () => ((await login(jwt)).status === 403 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
  });
});
