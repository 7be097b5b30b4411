// The service as Kubernetes runs it: main.ts in a child process with direct
// Vault leases. SIGTERM under load: not-ready first, listener closed, requests
// already in flight complete, then the lease is revoked and the process exits 0.
// And in-process: credential rotation during HTTP load answers only 200s.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Registry } from 'prom-client';
import { SecretSet, VaultTap, assertNoSecretsInLogs, freePort, waitFor } from '@rotor/testbed';
import { READER_ROLE, startStack, type Stack } from './stack.ts';
import { http, runService, testConfig } from './harness.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

interface Child {
  proc: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function startMain(env: Record<string, string>): Child {
  const chunks: string[] = [];
  const proc = spawn(process.execPath, ['--import', 'tsx', '--conditions=rotor-source', MAIN], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.on('data', (c: Buffer) => chunks.push(c.toString()));
  proc.stderr?.on('data', (c: Buffer) => chunks.push(c.toString()));
  const exited = once(proc, 'exit').then(([code]) => code as number | null);
  return { proc, output: () => chunks.join(''), exited };
}

async function status(url: string): Promise<number | string> {
  try {
    const res = await fetch(url, { headers: { connection: 'close' }, signal: AbortSignal.timeout(5_000) });
    await res.body?.cancel();
    return res.status;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    return cause?.code ?? String(err);
  }
}

/** rotor_db_credentials_rotations_total by reason: a rotation is counted for why it happened. */
async function rotationsByReason(registry: Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric('rotor_db_credentials_rotations_total')?.get();
  const byReason: Record<string, number> = {};
  for (const v of metric?.values ?? []) if (v.value > 0) byReason[String(v.labels.reason)] = v.value;
  return byReason;
}

describe('users-api lifecycle', { timeout: 240_000 }, () => {
  let stack: Stack;
  /** Vault as users-api sees it: every DB password and token it is given goes into `secrets`. */
  let tap: VaultTap;
  const secrets = new SecretSet();
  before(async () => {
    stack = await startStack();
    secrets.add('root token', stack.bao.rootToken);
    tap = new VaultTap({ target: () => stack.bao.address, secrets });
    await tap.start();
  });
  after(async () => {
    await tap?.stop();
    await stack?.stop();
  });

  it('SIGTERM under load: not-ready, in-flight requests complete, lease revoked, exit 0', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const child = startMain({
      CREDENTIALS_MODE: 'vault',
      VAULT_ADDR: tap.address,
      VAULT_AUTH_METHOD: 'token',
      VAULT_TOKEN: stack.bao.rootToken,
      VAULT_DB_ROLE: READER_ROLE,
      DB_HOST: stack.db.host,
      DB_PORT: String(stack.db.port),
      HOST: '127.0.0.1',
      PORT: String(port),
      SHUTDOWN_DELAY_MS: '300',
      LOG_LEVEL: 'info',
    });
    const locker = new pg.Client({ connectionString: stack.db.url() });
    try {
      await waitFor('users-api to be ready', async () => ((await status(`${base}/readyz`)) === 200 ? true : undefined), { timeoutMs: 60_000, intervalMs: 200 });
      const started = /"username":"([^"]+)".*"leaseId":"([^"]+)".*database credentials obtained/.exec(child.output());
      assert.ok(started, `start-up log names user and lease:\n${child.output()}`);
      const [, username = '', leaseId = ''] = started;
      assert.match(child.output(), /"expiresAt":"\d{4}-/);

      // Hold the table so requests are certainly in flight when SIGTERM arrives.
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
      const inFlight = Array.from({ length: 12 }, (_, i) =>
        http(base, 'GET', i % 2 ? '/users/1' : '/users?limit=5', { timeoutMs: 120_000 }).then(
          (a) => a.status,
          (err: unknown) => String(err),
        ),
      );
      // All 12 are inside the service once they hold or wait for a pool connection.
      await waitFor('all requests in flight inside the service', async () => {
        const text = (await http(base, 'GET', '/metrics')).text;
        const gauge = (state: string) => Number(new RegExp(`rotor_db_pool_connections\\{state="${state}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
        return gauge('waiting') + gauge('total') - gauge('idle') >= inFlight.length ? true : undefined;
      }, { timeoutMs: 30_000 });
      // A connection held is not yet a statement sent: under load the first ones reach the server a moment later.
      await waitFor('queries wait on the lock', async () => {
        const waiting = await locker.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND wait_event_type = 'Lock'`, [username]);
        return (waiting.rows[0]?.n ?? 0) >= 1 ? true : undefined;
      }, { timeoutMs: 30_000, intervalMs: 50 });
      child.proc.kill('SIGTERM');
      await waitFor('not-ready after SIGTERM', async () => ((await status(`${base}/readyz`)) === 503 ? true : undefined), { timeoutMs: 30_000, intervalMs: 50 });
      await waitFor('listener closed while draining', async () => ((await status(`${base}/healthz`)) === 'ECONNREFUSED' ? true : undefined), { timeoutMs: 30_000, intervalMs: 50 });
      assert.equal(child.proc.exitCode, null, 'must wait for in-flight requests');

      await locker.query('COMMIT');
      const answers = await Promise.all(inFlight);
      assert.deepEqual(answers, answers.map(() => 200), 'every in-flight request completes');
      assert.equal(await child.exited, 0, child.output());

      assert.equal(await stack.vault.sys.lookupLease(leaseId), undefined, 'lease revoked on stop');
      const roles = await stack.admin('SELECT 1 FROM pg_roles WHERE rolname = $1', [username]);
      assert.equal(roles.length, 0, 'database role dropped by the revocation');
      assert.ok((secrets.kinds()['db password'] ?? 0) >= 1, 'the vault-mode DB password is part of the scan');
      assertNoSecretsInLogs([{ name: 'users-api (vault mode) output', text: child.output() }], secrets);
    } finally {
      await locker.end().catch(() => undefined);
      if (child.proc.exitCode === null) {
        child.proc.kill('SIGKILL');
        await child.exited;
      }
    }
  });

  it('credential rotation during HTTP load: only 200s, old leases revoked', async () => {
    await stack.writeRole('short-reader', 'reader', { default: 4, max: 8 });
    const running = await runService(
      testConfig(stack.db, { CREDENTIALS_MODE: 'vault', VAULT_ADDR: tap.address, VAULT_AUTH_METHOD: 'token', VAULT_TOKEN: stack.bao.rootToken, VAULT_DB_ROLE: 'short-reader' }),
    );
    // Only rotations the source drove count: a swap forced by refused credentials is a recovery, not rotation.
    const rotations = async (): Promise<number> => (await rotationsByReason(running.service.registry))['renewal-truncated'] ?? 0;
    const users = new Set<string>([running.service.pool.username]);
    const unexpected: string[] = [];
    let done = false;
    let served = 0;
    const loop = async (path: string): Promise<void> => {
      while (!done) {
        const answer = await http(running.url, 'GET', path).catch((err: unknown) => ({ status: String(err), text: '' }));
        if (answer.status === 200) served++;
        else unexpected.push(`${path}: ${answer.status} ${answer.text}`);
      }
    };
    try {
      const loops = [loop('/users/1'), loop('/users/2'), loop('/users?limit=2'), loop('/users/1')];
      await waitFor('three rotations under load', async () => {
        users.add(running.service.pool.username);
        return (await rotations()) >= 3 ? true : undefined;
      }, { timeoutMs: 120_000, intervalMs: 100 });
      done = true;
      await Promise.all(loops);
      assert.deepEqual(unexpected, []);
      assert.ok(served > 0);
      assert.ok(users.size >= 3, `saw users ${[...users].join(', ')}`);
      // Released leases are revoked: their roles disappear from the database.
      const current = running.service.pool.username;
      await waitFor('old roles dropped', async () => {
        const rows = await stack.admin<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE 'v-token-short-re%'`);
        return rows.every((r) => r.rolname === current || !users.has(r.rolname)) && rows.filter((r) => users.has(r.rolname)).length <= 2 ? true : undefined;
      }, { timeoutMs: 30_000 });
      const reasons = await rotationsByReason(running.service.registry);
      assert.deepEqual(Object.keys(reasons), ['renewal-truncated'], `rotations by reason: ${JSON.stringify(reasons)}`);
      assert.doesNotMatch(running.logs(), /database refused the credentials/, 'the refused-credentials recovery stayed unused');
      assert.ok((secrets.kinds()['db password'] ?? 0) >= 3, 'every issued password is part of the scan');
      assertNoSecretsInLogs([{ name: 'users-api (vault mode) log', text: running.logs() }], secrets);
    } finally {
      done = true;
      await running.stop();
    }
  });

  it('init-container credentials of a 768 h lease (Vault\'s default TTL) do not end the service at once', async () => {
    // Node fires a setTimeout beyond 24.8 days after 1 ms: the exit before expiry must wait the real time.
    const lease = await stack.vault.database.creds(READER_ROLE);
    secrets.add('db password', lease.data.password);
    const dir = mkdtempSync(join(tmpdir(), 'rotor-768h-'));
    const file = join(dir, 'db-creds.json');
    const leaseSeconds = 768 * 3600;
    writeFileSync(file, JSON.stringify({ username: lease.data.username, password: lease.data.password, lease_id: lease.leaseId, lease_duration: leaseSeconds, renewable: true, issued_at: Math.floor(Date.now() / 1000) }), { mode: 0o600 });
    const running = await runService(testConfig(stack.db, { CREDENTIALS_MODE: 'file', CREDENTIALS_FILE: file, CREDENTIALS_REFRESH: 'none' }));
    try {
      const planned = /"leaveAt":"([^"]+)".*will leave before they expire/.exec(running.logs());
      assert.ok(planned, 'the exit before expiry is scheduled');
      const leaveInDays = (Date.parse(planned[1] ?? '') - Date.now()) / 86_400_000;
      assert.ok(leaveInDays > 31, `leaves in ${leaveInDays.toFixed(1)} days, beyond one timer's 24.8`);
      // Several round trips: far longer than the 1 ms an overflowed timer waits.
      for (let i = 0; i < 5; i++) {
        assert.equal((await http(running.url, 'GET', '/users/1')).status, 200);
        assert.equal((await http(running.url, 'GET', '/readyz')).status, 200);
      }
      assert.equal(running.service.readiness.leaving, false);
      assert.doesNotMatch(running.logs(), /credentials expiring|not ready; shutting down/);
    } finally {
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('invalid configuration: exit 2 with every problem named, no stack trace', async () => {
    const child = startMain({ CREDENTIALS_MODE: 'vault', PORT: 'http' });
    const code = await child.exited;
    assert.equal(code, 2);
    const out = child.output();
    for (const name of ['DB_HOST', 'VAULT_ADDR', 'PORT']) assert.match(out, new RegExp(name));
    assert.doesNotMatch(out, /\n\s+at /);
  });
});
