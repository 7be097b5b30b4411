// Fault matrix (issue 13), scenarios 2 and 7: the whole Vault cluster down.
// 2: all three OpenBao nodes killed at once (SIGKILL) and restarted under HTTP
//    load: the unsealer unseals them, the raft cluster re-forms with the same
//    cluster id and the same keys, nothing is initialized again, and users-api
//    (whose credentials stay valid meanwhile) fails no request.
// 7: Vault down for longer than the credentials' TTL: users-api turns not-ready
//    before they expire, serves no request on expired credentials (503 instead),
//    fails no request while they were valid, and recovers by itself once Vault
//    is back: new credentials, ready again, no refused-credentials recovery.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor, vaultAdmin } from '@rotor/testbed';
import { HttpLoad, ReadinessWatch } from './load.ts';
import { FaultStack, type UsersApiProcess } from './stack.ts';

/** The current credentials' expiry (ms since the epoch) from users-api's /metrics. */
async function expiryOf(api: UsersApiProcess): Promise<number> {
  const m = /^rotor_db_credentials_expiry_timestamp_seconds\{source="vault-lease"\} (\S+)$/m.exec(await api.metrics());
  const seconds = Number(m?.[1]);
  assert.ok(seconds > 0, 'users-api reports when its credentials expire');
  return seconds * 1000;
}

/** pino `time` of users-api log lines with this message. */
function logTimes(api: UsersApiProcess, msg: string): number[] {
  return api
    .log()
    .split('\n')
    .filter((l) => l.includes(`"msg":"${msg}"`))
    .map((l) => (JSON.parse(l) as { time: number }).time);
}

describe('fault matrix: the whole Vault cluster down (scenarios 2 and 7)', { timeout: 420_000 }, () => {
  let stack: FaultStack;

  before(async () => {
    stack = await FaultStack.start();
  });
  after(async () => {
    await stack?.stop();
  });

  async function killAll(): Promise<void> {
    await Promise.all(stack.cluster.nodes.map((n) => n.kill()));
  }
  async function startAll(): Promise<void> {
    await Promise.all(stack.cluster.nodes.map((n) => n.start()));
  }

  it('2: all three nodes killed at once and restarted: same cluster id, no re-init, no keys lost, 0 failed requests', async () => {
    const api = await stack.startUsersApi('users-api-long-lease');
    const load = new HttpLoad(api.url);
    const times = { backMs: 0 };
    try {
      await waitFor('load running', () => Promise.resolve(load.ok > 50 ? true : undefined), { timeoutMs: 30_000 });
      const killedAt = performance.now();
      await killAll();
      await startAll();
      assert.equal(await stack.healthy(), stack.clusterId, 'the same cluster re-formed');
      times.backMs = performance.now() - killedAt;
      const okBack = load.ok;
      await waitFor('requests after Vault is back', () => Promise.resolve(load.ok > okBack + 50 ? true : undefined), { timeoutMs: 30_000 });
    } finally {
      await load.stop();
    }
    await stack.assertSameCluster();
    const voters = (await (await stack.root()).sys.raftConfiguration()).servers.map((s) => s.nodeId).sort();
    assert.deepEqual(voters, ['node-1', 'node-2', 'node-3'], 'the same three raft members, no stale or new peer');
    console.log(`scenario 2: ${load.records.length} requests, ${load.failures().length} failed; all 3 nodes killed → unsealed, one leader, 3 voters after ${Math.round(times.backMs)} ms; unseal actions ${await stack.unsealerActions('unseal', 'ok')}`);
    assert.equal(load.failures().length, 0, `failed requests: ${load.describeFailures()}`);
    assert.deepEqual(await api.rotations(), {}, 'the credentials outlived the outage: no rotation');
    await api.stop();
  });

  it('7: Vault down longer than the TTL: not ready before expiry, nothing served on expired credentials, recovers by itself', async () => {
    // The shipped role with a 10 s TTL, so the outage can outlast it.
    const root = await stack.root();
    const role = await vaultAdmin.readRole(root, 'db-reader-role');
    assert.ok(role);
    await vaultAdmin.writeRole(root, 'db-reader-role', { dbName: role.dbName, creationStatements: role.creationStatements, revocationStatements: role.revocationStatements ?? [], defaultTtl: 10, maxTtl: 3600 });
    const api = await stack.startUsersApi('users-api-short-lease');
    const load = new HttpLoad(api.url);
    const ready = new ReadinessWatch(api.url);
    const t = { expiresAt: 0, killedAt: 0, restartedAt: 0 };
    try {
      await waitFor('load running', () => Promise.resolve(load.ok > 50 ? true : undefined), { timeoutMs: 30_000 });
      t.killedAt = Date.now();
      await killAll();
      // Read after the kill: no renewal can land any more.
      t.expiresAt = await expiryOf(api);
      await waitFor(
        'the credentials to expire and requests to be refused',
        () => Promise.resolve(load.records.some((r) => r.wallStart > t.expiresAt && r.outcome === 503) ? true : undefined),
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      t.restartedAt = Date.now();
      await startAll();
      assert.equal(await stack.healthy(), stack.clusterId, 'the same cluster re-formed');
      await waitFor('users-api on new credentials and ready', () => Promise.resolve(logTimes(api, 'rotated to new credentials').some((at) => at > t.restartedAt) && ready.samples.at(-1)?.status === 200 ? true : undefined), {
        timeoutMs: 60_000,
        intervalMs: 100,
      });
      const okBack = load.ok;
      await waitFor('requests served again', () => Promise.resolve(load.ok > okBack + 50 ? true : undefined), { timeoutMs: 30_000 });
    } finally {
      await load.stop();
      await ready.stop();
    }
    const { expiresAt, killedAt, restartedAt } = t;
    const rotatedAt = Math.min(...logTimes(api, 'rotated to new credentials').filter((at) => at > restartedAt));
    const notReadyAt = ready.firstNotReadyAfter(killedAt);
    const failures = load.failures();
    console.log(
      `scenario 7: ${load.records.length} requests, ${failures.length} failed (${load.describeFailures()}), all after expiry; ` +
        `not ready ${expiresAt - (notReadyAt ?? Number.NaN)} ms before expiry; Vault down ${restartedAt - killedAt} ms (TTL 10 s); ` +
        `new credentials ${rotatedAt - restartedAt} ms after the restart began`,
    );
    assert.ok(notReadyAt !== undefined && notReadyAt < expiresAt, 'readiness went false before the credentials expired');
    assert.deepEqual(failures.filter((f) => f.wallEnd < expiresAt), [], 'no request failed while the credentials were valid');
    const servedExpired = load.records.filter((r) => r.outcome === 200 && r.wallStart >= expiresAt && r.wallEnd <= rotatedAt);
    assert.deepEqual(servedExpired, [], 'no request served on expired credentials');
    assert.ok(failures.every((f) => f.outcome === 503), `refused, not broken: ${load.describeFailures()}`);
    const reasons = await api.rotations();
    assert.equal(reasons['auth-failure'] ?? 0, 0, `no refused-credentials recovery: ${JSON.stringify(reasons)}`);
    assert.doesNotMatch(api.log(), /database refused the credentials/);
    await stack.assertSameCluster();
    await api.stop();
    assert.equal(api.process.describeExit(), 'code 0');
    stack.assertNoSecretsInAnyLog();
  });
});
