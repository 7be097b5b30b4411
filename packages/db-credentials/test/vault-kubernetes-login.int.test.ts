// VaultLeaseSource with Kubernetes auth against a real kube-apiserver (TokenReview)
// and OpenBao: the projected service-account token file is re-read at every
// login, and a login token reaching its max TTL leads to a new login plus new
// credentials (leases die with the token that created them).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import type { VaultClient } from '@rotor/vault-client';
import {
  createKubernetesAuthObjects,
  serviceAccountToken,
  startKubeApiserver,
  startOpenBao,
  startPostgres,
  waitFor,
  vaultAdmin,
  type KubeApiserver,
  type OpenBaoDevServer,
  type PostgresServer,
} from '@rotor/testbed';
import { CredentialMetrics } from '../src/metrics.ts';
import { RotatingPool } from '../src/rotating-pool.ts';
import { VaultLeaseSource } from '../src/vault-lease-source.ts';
import type { DbCredentials } from '../src/credentials.ts';
import type { RotationReason } from '../src/source.ts';
import { TokenRecordingVault, assertNoSecrets, assertRecoveryUnused, captureLogs, liveLeases, setUpSeed, until, writeAppPolicy } from './fixtures.ts';

describe('VaultLeaseSource with Kubernetes auth (real kube-apiserver, OpenBao, PostgreSQL)', { timeout: 240_000 }, () => {
  let kube: KubeApiserver;
  let bao: OpenBaoDevServer;
  let db: PostgresServer;
  let root: VaultClient;
  let dir: string;

  before(async () => {
    [kube, bao, db] = await Promise.all([startKubeApiserver(), startOpenBao({ mode: 'dev' }), startPostgres()]);
    dir = mkdtempSync(join(tmpdir(), 'rotor-k8s-login-'));
    const { reviewerJwt } = await createKubernetesAuthObjects(kube);

    root = await setUpSeed(db, bao, { 'db-reader-role': { defaultTtl: '1h', maxTtl: '24h' } });
    await writeAppPolicy(root);
    await vaultAdmin.enableAuth(root, 'kubernetes', { type: 'kubernetes' });
    await root.request('POST', 'auth/kubernetes/config', { body: { kubernetes_host: kube.url, kubernetes_ca_cert: kube.caCert, token_reviewer_jwt: reviewerJwt, disable_local_ca_jwt: true } });
    // Short login tokens, so the source must log in again during the test.
    await root.request('POST', 'auth/kubernetes/role/app-creds-reader-role', {
      body: { bound_service_account_names: ['app-auth'], bound_service_account_namespaces: ['app'], audience: 'vault', token_policies: ['app-policy'], token_ttl: '3s', token_max_ttl: '6s' },
    });
  });
  after(async () => {
    await Promise.all([kube?.stop(), bao?.stop(), db?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('re-reads the token file at each login, logs in again at max TTL and re-issues', async () => {
    const jwtPath = join(dir, 'token');
    const saToken = (): Promise<string> => serviceAccountToken(kube, 'app', 'app-auth', { audiences: ['vault'] });
    const firstJwt = await saToken();
    writeFileSync(jwtPath, firstJwt);
    const logs = captureLogs();
    const registry = new Registry();
    const metrics = new CredentialMetrics(registry);
    const vault = new TokenRecordingVault({ address: bao.address });
    const source = new VaultLeaseSource({ vault, login: { method: 'kubernetes', role: 'app-creds-reader-role', jwtPath }, role: 'db-reader-role', metrics, logger: logs.logger });
    const issued: [DbCredentials, RotationReason | 'start'][] = [[await source.start(), 'start']];
    source.subscribe((c, reason) => issued.push([c, reason]));
    const pool = new RotatingPool({ source, pg: { host: db.host, port: db.port, database: 'postgres', max: 2 }, metrics, logger: logs.logger });
    await pool.start();
    const loginFailures = async (): Promise<number> => {
      const metric = await registry.getSingleMetric('rotor_db_credentials_source_errors_total')?.get();
      return (metric?.values ?? []).filter((v) => String(v.labels.reason).startsWith('login-')).reduce((n, v) => n + v.value, 0);
    };
    let secondJwt: string | undefined;
    try {
      // The "kubelet" puts an unusable token in place: the next login must read it, and fail.
      writeFileSync(jwtPath, 'not-a-jwt');
      await waitFor('a login with the unusable token file to fail', async () => ((await loginFailures()) >= 1 ? true : undefined), { timeoutMs: 60_000 });
      secondJwt = await saToken();
      writeFileSync(jwtPath, secondJwt);
      await until('a new login and credentials issued under it', () => issued.some(([, reason]) => reason === 'token-relogin'), 60_000);
      const latest = issued.at(-1)?.[0];
      await until('the pool on the new credentials', () => pool.username === latest?.username);
      const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
      assert.equal(rows[0]?.n, 2);
      assert.match(logs.text(), /"msg":"logged in to Vault again"/);
      await assertRecoveryUnused(registry, logs.text());
    } finally {
      await pool.stop();
      await source.stop();
    }
    assert.deepEqual(await liveLeases(root, 'db-reader-role'), []);
    assert.ok(vault.tokens.length >= 2, 'the login tokens (first and re-login) are part of the scan');
    assertNoSecrets(logs.text(), { 'db password': issued.map(([c]) => c.password), 'service-account JWT': [firstJwt, secondJwt ?? ''], 'vault token (kubernetes login)': vault.tokens });
  });
});
