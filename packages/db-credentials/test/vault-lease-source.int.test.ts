// VaultLeaseSource + RotatingPool against a real OpenBao (dev) and PostgreSQL:
// renewals, re-issue at max_ttl under concurrent load, early revocation,
// Vault unreachable during a renewal, and what stop() leaves behind.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { VaultClient } from '@rotor/vault-client';
import { startOpenBao, startPostgres, waitFor, type OpenBaoDevServer, type PostgresServer } from '@rotor/testbed';
import { CredentialMetrics } from '../src/metrics.ts';
import { RotatingPool } from '../src/rotating-pool.ts';
import { VaultLeaseSource } from '../src/vault-lease-source.ts';
import { isDbCredentialsError } from '../src/errors.ts';
import type { DbCredentials } from '../src/credentials.ts';
import {
  QueryLoad,
  Relay,
  TokenRecordingVault,
  assertNoSecrets,
  assertRecoveryUnused,
  captureLogs,
  liveLeases,
  roleExists,
  rotationsByReason,
  setUpAppRole,
  setUpSeed,
  timerCount,
  until,
  vaultUserBackends,
} from './fixtures.ts';

const ROLES = {
  'rotating-role': { defaultTtl: '3s', maxTtl: '7s' },
  'steady-role': { defaultTtl: '1h', maxTtl: '24h' },
  'renewing-role': { defaultTtl: '10s', maxTtl: '1h' },
};

function counterValue(registry: Registry, name: string, labels: Record<string, string>): number {
  const text = registry.getSingleMetric(name) as unknown as { hashMap: Record<string, { value: number; labels: Record<string, string> }> } | undefined;
  let sum = 0;
  for (const entry of Object.values(text?.hashMap ?? {})) {
    if (Object.entries(labels).every(([k, v]) => entry.labels[k] === v)) sum += entry.value;
  }
  return sum;
}

describe('VaultLeaseSource with RotatingPool (real OpenBao and PostgreSQL)', { timeout: 300_000 }, () => {
  let db: PostgresServer;
  let bao: OpenBaoDevServer;
  let root: VaultClient;
  let approle: { roleId: string; secretId: string };

  before(async () => {
    [db, bao] = await Promise.all([startPostgres(), startOpenBao({ mode: 'dev' })]);
    root = await setUpSeed(db, bao, ROLES);
    approle = await setUpAppRole(root, 'app');
  });
  after(async () => {
    await Promise.all([db?.stop(), bao?.stop()]);
  });
  // A failed assertion skips a test's own stop(): stop what it started here, or its timers keep the file running.
  const started: { pool: RotatingPool; source: VaultLeaseSource }[] = [];
  afterEach(async () => {
    for (const { pool, source } of started.splice(0)) {
      await pool.stop().catch(() => undefined);
      await source.stop().catch(() => undefined);
    }
  });

  /** A started source + pool with captured logs; `passwords` collects every password issued. */
  async function startService(role: string, vault: VaultClient = new TokenRecordingVault({ address: bao.address })) {
    const logs = captureLogs();
    const registry = new Registry();
    const metrics = new CredentialMetrics(registry);
    const source = new VaultLeaseSource({ vault, login: { method: 'approle', ...approle }, role, metrics, logger: logs.logger });
    const issued: DbCredentials[] = [];
    source.subscribe((c) => issued.push(c));
    issued.push(await source.start());
    const pool = new RotatingPool({ source, pg: { host: db.host, port: db.port, database: 'postgres', max: 4 }, metrics, logger: logs.logger });
    await pool.start();
    started.push({ pool, source });
    return { logs, registry, source, pool, issued, tokens: vault instanceof TokenRecordingVault ? vault.tokens : [] };
  }

  it('renews, re-issues before max_ttl, rotates under load with zero failed queries, and cleans up', async () => {
    const timersBefore = timerCount();
    const { logs, registry, source, pool, issued, tokens } = await startService('rotating-role');
    const load = new QueryLoad(4, async (i = Math.random()) => {
      if (i < 0.75) {
        const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
        assert.equal(rows[0]?.n, 2);
      } else {
        await pool.transaction(async (tx) => {
          await tx.query('SELECT name FROM users WHERE id = 1');
          await tx.query('SELECT name FROM users WHERE id = 2');
        });
      }
    });
    try {
      await until('5 rotations', () => issued.length >= 6, 120_000);
      await until('the pool to follow the 5th rotation', () => pool.username === issued[5]?.username, 30_000);
    } finally {
      await load.stop();
    }
    assert.deepEqual(load.failures.slice(0, 3), [], `${load.failures.length} failed queries of ${load.ok + load.failures.length}`);
    assert.ok(load.ok > 100, `only ${load.ok} queries ran`);
    assert.equal(new Set(issued.map((c) => c.username)).size, issued.length, 'each rotation brings a new user');
    assert.ok((logs.text().match(/"msg":"renewed lease"/g) ?? []).length >= 1, 'leases were renewed before re-issue');
    assert.ok(counterValue(registry, 'rotor_db_credentials_rotations_total', { reason: 'renewal-truncated' }) >= 5);
    await assertRecoveryUnused(registry, logs.text());

    // Old leases are revoked after their pools drained; their roles are dropped.
    const current = source.current();
    await waitFor('old leases revoked', async () => {
      const live = await liveLeases(root, 'rotating-role');
      return issued.slice(0, 5).every((c) => !live.includes(c.leaseId ?? '')) ? true : undefined;
    }, { timeoutMs: 30_000 });
    for (const old of issued.slice(0, 5)) assert.equal(await roleExists(db, old.username), false, `role ${old.username} still exists`);

    await pool.stop();
    await source.stop();
    await assert.rejects(pool.query('SELECT 1'), (err) => isDbCredentialsError(err, 'DBCREDS_STOPPED'));
    await assert.rejects(source.stop(), (err) => isDbCredentialsError(err, 'DBCREDS_STOPPED'));
    assert.deepEqual(await liveLeases(root, 'rotating-role'), [], 'stop revokes the current lease');
    await waitFor('no backends of Vault users', async () => ((await vaultUserBackends(db)).length === 0 ? true : undefined), { timeoutMs: 15_000 });
    assert.equal(await roleExists(db, current.username), false);
    await until('timers back to the baseline', () => timerCount() <= timersBefore, 20_000);
    assert.ok(tokens.length >= 1, 'the approle login token is part of the scan');
    assertNoSecrets(logs.text(), { 'db password': issued.map((c) => c.password), 'approle secret id': [approle.secretId], 'root token': [bao.rootToken], 'vault token (approle login)': tokens });
  });

  it('recovers when an admin revokes the current lease early, without a failed query', async () => {
    const { logs, registry, source, pool, issued, tokens } = await startService('steady-role');
    const load = new QueryLoad(3, () => pool.query('SELECT id FROM users'));
    try {
      await until('some queries', () => load.ok > 20);
      const revokedAt = Date.now();
      await root.sys.revokeLease(issued[0]?.leaseId ?? '');
      await until('the pool to move to new credentials', () => pool.username !== issued[0]?.username);
      const okAtSwap = load.ok;
      await until('queries on the new credentials', () => load.ok > okAtSwap + 20);
      logs.logger.info({ recoveryMs: Date.now() - revokedAt }, 'test: recovered from early revocation');
    } finally {
      await load.stop();
    }
    assert.deepEqual(load.failures.slice(0, 3), [], `${load.failures.length} failed queries`);
    assert.equal(issued.length, 2, 'exactly one re-issue (no retry storm)');
    // Here the recovery path is the one expected: exactly one refresh forced by the refusal.
    assert.deepEqual(await rotationsByReason(registry), { 'auth-failure': 1 });
    await pool.stop();
    await source.stop();
    assert.deepEqual(await liveLeases(root, 'steady-role'), []);
    assertNoSecrets(logs.text(), { 'db password': issued.map((c) => c.password), 'approle secret id': [approle.secretId], 'vault token (approle login)': tokens });
  });

  it('renews a periodic static token so its leases outlive the period', async () => {
    const created = await root.request<{ auth: { client_token: string; accessor: string } }>('POST', 'auth/token/create', {
      body: { policies: ['app-policy'], period: '3s', no_parent: true },
    });
    const token = created?.auth.client_token ?? '';
    const logs = captureLogs();
    const source = new VaultLeaseSource({ vault: new VaultClient({ address: bao.address }), login: { method: 'token', token }, role: 'steady-role', logger: logs.logger });
    const first = await source.start();
    const tokenRenewals = (): number => (logs.text().match(/"msg":"renewed token"/g) ?? []).length;
    try {
      await until('three token renewals (beyond the 3s period)', () => tokenRenewals() >= 3, 30_000);
      assert.ok((await liveLeases(root, 'steady-role')).includes(first.leaseId ?? ''), 'the lease lives on with its renewed token');
      assert.equal(source.current().username, first.username);
    } finally {
      await source.stop();
    }
    assert.deepEqual(await liveLeases(root, 'steady-role'), []);
    const self = await root.withToken(token).auth.lookupSelf();
    assert.equal(self.period, 3, 'a static token belongs to the caller: not revoked on stop');
    assertNoSecrets(logs.text(), { 'db password': [first.password], 'vault token (static)': [token] });
  });

  it('keeps serving while Vault is unreachable during a renewal, then renews again', async () => {
    const relay = new Relay(bao.address);
    await relay.start();
    const vault = new TokenRecordingVault({ address: relay.address, retry: { attempts: 2, baseDelayMs: 50, maxDelayMs: 200 }, timeoutMs: 2_000 });
    const { logs, registry, source, pool, issued, tokens } = await startService('renewing-role', vault);
    const renewals = (): number => (logs.text().match(/"msg":"renewed lease"/g) ?? []).length;
    const unreachable = (): number => counterValue(registry, 'rotor_db_credentials_source_errors_total', { reason: 'renew-lease-unreachable' });
    const load = new QueryLoad(3, () => pool.query('SELECT id FROM users'));
    try {
      await until('a first renewal', () => renewals() >= 1, 60_000);
      await relay.cut();
      await until('renewals failing while Vault is unreachable', () => unreachable() >= 2, 30_000);
      await relay.restore();
      await until('a renewal after Vault is back', () => renewals() >= 2, 30_000);
    } finally {
      await load.stop();
      await relay.restore().catch(() => undefined);
    }
    assert.deepEqual(load.failures.slice(0, 3), [], `${load.failures.length} failed queries`);
    assert.equal(issued.length, 1, 'the same lease was kept through the outage');
    assert.equal(pool.username, issued[0]?.username);
    assert.deepEqual(await rotationsByReason(registry), {}, 'no rotation at all');
    await assertRecoveryUnused(registry, logs.text());
    await pool.stop();
    await source.stop();
    await relay.cut();
    assert.deepEqual(await liveLeases(root, 'renewing-role'), []);
    assertNoSecrets(logs.text(), { 'db password': issued.map((c) => c.password), 'approle secret id': [approle.secretId], 'vault token (approle login)': tokens });
  });
});
