// Fault matrix (issue 13), scenario 8: PostgreSQL restarted under HTTP load,
// with users-api in direct mode on a 3-node raft OpenBao.
// - A restart (fast shutdown, as `pg_ctl restart` or a rolling update does it):
//   statements whose backends were terminated are retried and new requests
//   wait for the server (the pool reconnects with backoff): 0 failed requests.
// - A crash (immediate shutdown: every backend killed mid-statement): only
//   requests in flight at that moment fail (their outcome is unknown, so they
//   are not retried), counted; every request that started afterwards succeeds.
// In both, no credential rotation and no refused-credentials recovery: the
// credentials stayed valid throughout.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@rotor/testbed';
import { HttpLoad } from './load.ts';
import { FaultStack, samplesBy, type UsersApiProcess } from './stack.ts';

/** users-api's log lines for 503 answers (they carry the database error's code and message). */
function unavailableLines(log: string): string {
  return log.split('\n').filter((l) => l.includes('database unavailable')).join('\n');
}

describe('fault matrix: PostgreSQL restarted under load (scenario 8)', { timeout: 300_000 }, () => {
  let stack: FaultStack;
  let api: UsersApiProcess;

  before(async () => {
    stack = await FaultStack.start();
    api = await stack.startUsersApi('users-api');
  });
  after(async () => {
    await stack?.stop();
  });

  /** Runs `fault` under load; returns the load and when the fault began (performance.now()). */
  async function underLoad(fault: () => Promise<void>): Promise<{ load: HttpLoad; faultAt: number; recoveredAt: number }> {
    const load = new HttpLoad(api.url, { concurrency: 6 });
    try {
      await waitFor('load running', () => Promise.resolve(load.ok > 100 ? true : undefined), { timeoutMs: 30_000 });
      const faultAt = performance.now();
      await fault();
      const restarted = performance.now();
      await waitFor('requests served after the restart', () => Promise.resolve(load.okAfter(restarted) >= 50 ? true : undefined), { timeoutMs: 60_000 }).catch((err: unknown) => {
        const recent = load.records.filter((r) => r.startedAt > restarted);
        throw new Error(`${(err as Error).message}; since the restart: ${recent.length} requests (${load.describeFailures(recent.filter((r) => r.outcome !== 200))}); users-api log:\n${api.log().split('\n').slice(-15).join('\n')}`);
      });
      const recoveredAt = Math.min(...load.records.filter((r) => r.outcome === 200 && r.startedAt > faultAt).map((r) => r.endedAt));
      return { load, faultAt, recoveredAt };
    } finally {
      await load.stop();
    }
  }

  it('fast restart: in-flight statements retried, new requests wait for the server: 0 failed requests', async () => {
    const before = samplesBy(await api.metrics(), 'rotor_db_pool_retries_total', 'reason');
    const { load, faultAt, recoveredAt } = await underLoad(() => stack.db.restart());
    const retries = samplesBy(await api.metrics(), 'rotor_db_pool_retries_total', 'reason');
    const waited = (retries['database-unavailable'] ?? 0) - (before['database-unavailable'] ?? 0);
    const slowest = Math.max(...load.records.filter((r) => r.endedAt >= faultAt).map((r) => r.endedAt - r.startedAt));
    console.log(
      `scenario 8 (fast restart): ${load.records.length} requests, ${load.failures().length} failed; ${waited} waits for the server, ` +
        `${(retries['backend-terminated'] ?? 0) - (before['backend-terminated'] ?? 0)} terminated statements retried; first success ${Math.round(recoveredAt - faultAt)} ms after the restart began; slowest request ${Math.round(slowest)} ms`,
    );
    assert.equal(load.failures().length, 0, `failed requests: ${load.describeFailures()}; users-api said:\n${unavailableLines(api.log())}`);
    assert.ok(waited >= 1, 'requests waited for the restarting server');
    assert.deepEqual(await api.rotations(), {}, 'the credentials stayed: no rotation');
    assert.doesNotMatch(api.log(), /database refused the credentials/);
  });

  it('crash (immediate shutdown): only the requests in flight at that moment fail, counted', async () => {
    // The crash takes from the signal until the postmaster is gone: requests in flight then may fail.
    let killAt = 0;
    let goneAt = 0;
    const { load, recoveredAt } = await underLoad(async () => {
      killAt = performance.now();
      await stack.db.restart({ immediate: true, onStopped: () => (goneAt = performance.now()) });
    });
    const failures = load.failures();
    const inFlight = load.records.filter((r) => r.startedAt <= goneAt && r.endedAt >= killAt);
    const startedAfter = load.records.filter((r) => r.startedAt > goneAt);
    console.log(
      `scenario 8 (crash): ${load.records.length} requests, ${failures.length} failed of ${inFlight.length} in flight during the crash ` +
        `(${Math.round(goneAt - killAt)} ms from SIGQUIT to the postmaster gone; ${load.describeFailures()}); ` +
        `${startedAfter.length} started after it, all served; first success ${Math.round(recoveredAt - killAt)} ms after the kill`,
    );
    for (const f of failures) {
      assert.ok(f.startedAt <= goneAt && f.endedAt >= killAt, `a request outside the crash failed (started ${Math.round(f.startedAt - goneAt)} ms after): ${String(f.outcome)} ${f.errorCode ?? ''}`);
    }
    assert.ok(failures.length <= inFlight.length);
    assert.ok(startedAfter.every((r) => r.outcome === 200));
    assert.ok(startedAfter.length > 0);
    assert.deepEqual(await api.rotations(), {}, 'the credentials stayed: no rotation');
    assert.doesNotMatch(api.log(), /database refused the credentials/);
    await api.stop();
    assert.equal(api.process.describeExit(), 'code 0');
    await stack.assertSameCluster();
    stack.assertNoSecretsInAnyLog();
  });
});
