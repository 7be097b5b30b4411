// Fault matrix (issue 13), scenarios 10 and 6: revocation.
// 10: a lease revoked while its role owns an object (a temporary table) in a
//     session that is still open leaves no orphan v-* role: the shipped
//     revocation statements end the sessions, reassign and drop what the role
//     owns, then drop it. Vault's default revocation, on the same situation,
//     fails and leaves the role behind (the control that makes this test able
//     to fail).
// 6:  an admin revokes the lease users-api holds, under HTTP load, in each mode.
//     Direct: 0 failed requests, the old role is gone from pg_roles, and the
//     recovery path used is exactly the expected one (one refresh on refused
//     credentials). Init container and sidecar cannot fetch credentials
//     themselves: no request fails while valid credentials exist; the init
//     container's service leaves at once (not ready, then exits for a new pod);
//     the sidecar's is not ready until its agent renders new credentials, then
//     serves again by itself. With several replicas the Service routes around
//     a not-ready pod; with one, as here, the requests in that window fail.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServerProcess, readLog, waitFor, vaultAdmin } from '@rotor/testbed';
import { HttpLoad, ReadinessWatch } from './load.ts';
import { FaultStack, samplesBy } from './stack.ts';

const TEMPLATE = fileURLToPath(new URL('../../../../packages/db-credentials/templates/db-creds.json.ctmpl', import.meta.url));

interface Lease {
  leaseId: string;
  username: string;
  password: string;
}

describe('fault matrix: revocation (scenarios 10 and 6)', { timeout: 300_000 }, () => {
  let stack: FaultStack;

  before(async () => {
    stack = await FaultStack.start();
  });
  after(async () => {
    await stack?.stop();
  });

  async function issue(role: string): Promise<Lease> {
    const lease = await (await stack.root()).database.creds(role);
    stack.secrets.add('db password', lease.data.password);
    return { leaseId: lease.leaseId, username: lease.data.username, password: lease.data.password };
  }

  /** A session of the leased role that owns a temporary table and stays open. */
  async function sessionOwningATempTable(lease: Lease): Promise<{ client: pg.Client; errors: string[] }> {
    const client = new pg.Client({ connectionString: stack.db.url(lease.username, lease.password), connectionTimeoutMillis: 5_000 });
    const errors: string[] = [];
    client.on('error', (err: Error & { code?: string }) => errors.push(err.code ?? err.message));
    await client.connect();
    await client.query('CREATE TEMP TABLE scratch (n int)');
    await client.query('INSERT INTO scratch VALUES (1)');
    const owned = await stack.sql<{ n: number }>(`SELECT count(*)::int AS n FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = $1`, [lease.username]);
    assert.equal(owned[0]?.n, 1, 'the role owns the temporary table');
    return { client, errors };
  }

  it('10: revoking a role that owns a temp table in an open session leaves no orphan v-* role', async () => {
    const rolesBefore = await stack.vaultRoles();
    const lease = await issue('db-reader-role');
    const { client, errors } = await sessionOwningATempTable(lease);
    try {
      await (await stack.root()).sys.revokeLease(lease.leaseId);
      assert.deepEqual(await stack.vaultRoles(), rolesBefore, 'the revoked role is gone from pg_roles; no other role appeared');
      assert.equal(await (await stack.root()).sys.lookupLease(lease.leaseId), undefined, 'the lease is gone');
      // The revocation ended the session: revoked credentials keep no connection.
      await waitFor('the session to be terminated', () => Promise.resolve(errors.length > 0 ? true : undefined), { timeoutMs: 15_000 });
      assert.match(errors.join(','), /57P01/);
      const sessions = await stack.sql(`SELECT 1 FROM pg_stat_activity WHERE usename = $1`, [lease.username]);
      assert.equal(sessions.length, 0);
    } finally {
      await client.end().catch(() => undefined);
    }
  });

  it('10: a table the role created survives its revocation, owned by the connection user', async () => {
    const lease = await issue('db-writer-role');
    // Roles get no CREATE by default: an application that runs its own migrations would.
    await stack.sql(`GRANT CREATE ON SCHEMA public TO "${lease.username}"`);
    const client = new pg.Client({ connectionString: stack.db.url(lease.username, lease.password), connectionTimeoutMillis: 5_000 });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query('CREATE TABLE audit_trail (n int)');
      await client.query('INSERT INTO audit_trail VALUES (42)');
      await (await stack.root()).sys.revokeLease(lease.leaseId);
    } finally {
      await client.end().catch(() => undefined);
    }
    assert.deepEqual(await stack.sql(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [lease.username]), [], 'no orphan role');
    const kept = await stack.sql<{ owner: string; n: number }>(`SELECT tableowner AS owner, (SELECT n FROM audit_trail) AS n FROM pg_tables WHERE tablename = 'audit_trail'`);
    assert.deepEqual(kept, [{ owner: stack.db.superuser, n: 42 }], 'the data stays, owned by the user Vault connects as');
  });

  it("10 (control): Vault's default revocation leaves the orphan this prevents", async () => {
    const root = await stack.root();
    // The shipped creation statements, without revocation statements: Vault's default revocation.
    const shipped = await vaultAdmin.readRole(root, 'db-reader-role');
    assert.ok(shipped && shipped.revocationStatements.length > 0, 'the shipped role has revocation statements');
    await vaultAdmin.writeRole(root, 'default-revocation-role', { dbName: 'postgres', creationStatements: shipped.creationStatements, defaultTtl: 3600, maxTtl: 3600 });
    await root.request('POST', 'database/config/postgres', { body: { allowed_roles: ['db-reader-role', 'db-writer-role', 'default-revocation-role'] } });
    const lease = await issue('default-revocation-role');
    const { client } = await sessionOwningATempTable(lease);
    try {
      await assert.rejects(root.sys.revokeLease(lease.leaseId), 'the default revocation fails on the owned object');
      assert.equal((await stack.sql(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [lease.username])).length, 1, 'an orphan role stays');
    } finally {
      await client.end().catch(() => undefined);
      // Clean up: with the session gone the default revocation succeeds.
      await waitFor('the control lease revoked', async () => {
        await root.sys.revokeLease(lease.leaseId);
        return true;
      }, { timeoutMs: 30_000, intervalMs: 500 });
      await root.request('POST', 'database/config/postgres', { body: { allowed_roles: ['db-reader-role', 'db-writer-role'] } });
    }
  });

  it('6 (direct mode): an admin revokes the lease users-api holds under load: 0 failed requests, the old role gone', async () => {
    const api = await stack.startUsersApi('users-api-direct');
    const leaseOf = (log: string): string | undefined => /"leaseId":"(database\/creds\/db-reader-role\/[^"]+)"/.exec(log)?.[1];
    const userOf = (log: string): string | undefined => /"username":"([^"]+)".*database credentials obtained/.exec(log)?.[1];
    const leaseId = leaseOf(api.log());
    const username = userOf(api.log());
    assert.ok(leaseId && username, 'the start-up log names the lease and user');
    const load = new HttpLoad(api.url);
    let recoveredMs: number | undefined;
    try {
      await waitFor('load running', () => Promise.resolve(load.ok > 50 ? true : undefined), { timeoutMs: 30_000 });
      const revokedAt = performance.now();
      await (await stack.root()).sys.revokeLease(leaseId);
      await waitFor('users-api on new credentials', async () => ((await api.rotations())['auth-failure'] ? true : undefined), { timeoutMs: 30_000, intervalMs: 100 });
      recoveredMs = performance.now() - revokedAt;
      const settled = load.ok;
      await waitFor('requests served on the new credentials', () => Promise.resolve(load.ok > settled + 50 ? true : undefined), { timeoutMs: 30_000 });
    } finally {
      await load.stop();
    }
    const failures = load.failures();
    const retried = samplesBy(await api.metrics(), 'rotor_db_pool_retries_total', 'reason')['backend-terminated'] ?? 0;
    console.log(`scenario 6 (direct): ${load.records.length} requests, ${failures.length} failed; new credentials ${Math.round(recoveredMs ?? Number.NaN)} ms after the revocation; ${retried} statements retried after their session was ended`);
    assert.equal(failures.length, 0, `failed requests: ${load.describeFailures()}`);
    assert.deepEqual(await stack.sql(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [username]), [], 'the revoked role is gone');
    // The recovery path expected here, exactly once: one refresh forced by the refusal.
    assert.deepEqual(await api.rotations(), { 'auth-failure': 1 });
    assert.equal((api.log().match(/database refused the credentials/g) ?? []).length, 1, 'one refusal, coalesced');
    await api.stop();
    assert.equal(api.process.describeExit(), 'code 0');
    stack.assertNoSecretsInAnyLog();
  });

  /** A lease rendered as the init container's agent renders it (the shipped template's format). */
  function renderFile(path: string, lease: Lease & { leaseDuration: number }): void {
    writeFileSync(path, JSON.stringify({ username: lease.username, password: lease.password, lease_id: lease.leaseId, lease_duration: lease.leaseDuration, renewable: true, issued_at: Math.floor(Date.now() / 1000) }), { mode: 0o600 });
  }

  it('6 (init-container mode): revoked credentials make users-api leave at once; failures only after the revocation', async () => {
    const root = await stack.root();
    const issued = await root.database.creds('db-reader-role');
    stack.secrets.add('db password', issued.data.password);
    const file = join(stack.dir, 'init-db-creds.json');
    renderFile(file, { leaseId: issued.leaseId, username: issued.data.username, password: issued.data.password, leaseDuration: issued.leaseDuration });
    const api = await stack.startUsersApi('users-api-init', { CREDENTIALS_MODE: 'file', CREDENTIALS_FILE: file, CREDENTIALS_REFRESH: 'none' });
    const load = new HttpLoad(api.url);
    const ready = new ReadinessWatch(api.url);
    const t = { revokedAt: 0, notReadyAt: 0 };
    try {
      await waitFor('load running', () => Promise.resolve(load.ok > 50 ? true : undefined), { timeoutMs: 30_000 });
      t.revokedAt = Date.now();
      await root.sys.revokeLease(issued.leaseId);
      await waitFor('users-api to leave on its own', () => Promise.resolve(api.process.running ? undefined : true), { timeoutMs: 60_000, intervalMs: 100 });
      t.notReadyAt = ready.firstNotReadyAfter(t.revokedAt) ?? Number.NaN;
    } finally {
      await load.stop();
      await ready.stop();
    }
    const failures = load.failures();
    console.log(
      `scenario 6 (init container): ${load.records.length} requests, ${failures.length} failed, all after the revocation (${load.describeFailures()}); ` +
        `not ready ${t.notReadyAt - t.revokedAt} ms and gone (exit ${api.process.describeExit()}) after the revocation: a new pod renders fresh credentials`,
    );
    assert.deepEqual(failures.filter((f) => f.wallEnd < t.revokedAt), [], 'no failure while the credentials were valid');
    assert.ok(t.notReadyAt >= t.revokedAt, 'not ready after the revocation');
    assert.equal(api.process.describeExit(), 'code 0', 'left gracefully (without Kubernetes: stopped on its own)');
    assert.match(api.log(), /database refused the init container's credentials/);
    assert.match(api.log(), /"reason":"credentials refused by the database"/);
    assert.deepEqual(await stack.sql(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [issued.data.username]), [], 'the revoked role is gone');
  });

  it('6 (sidecar mode): revoked credentials: not ready until the agent renders new ones, then serving again by itself', async () => {
    // A short lease so the agent's next renewal (where it notices the revocation) comes soon.
    const root = await stack.root();
    const role = await vaultAdmin.readRole(root, 'db-reader-role');
    assert.ok(role);
    await vaultAdmin.writeRole(root, 'db-reader-role', { dbName: role.dbName, creationStatements: role.creationStatements, revocationStatements: role.revocationStatements ?? [], defaultTtl: 15, maxTtl: 3600 });
    const home = join(stack.dir, 'agent');
    mkdirSync(join(home, 'secrets'), { recursive: true });
    writeFileSync(join(home, 'role-id'), stack.approle.roleId);
    writeFileSync(join(home, 'secret-id'), stack.approle.secretId, { mode: 0o600 });
    const credsFile = join(home, 'secrets', 'db-creds.json');
    writeFileSync(
      join(home, 'agent.hcl'),
      `vault {
  address = "${stack.tap.address}"
}
auto_auth {
  method "approle" {
    config = {
      role_id_file_path = "${join(home, 'role-id')}"
      secret_id_file_path = "${join(home, 'secret-id')}"
      remove_secret_id_file_after_reading = false
    }
  }
  sink "file" {
    config = {
      path = "${join(home, '.vault-token')}"
    }
  }
}
template {
  source      = "${TEMPLATE}"
  destination = "${credsFile}"
  perms       = "0600"
}
`,
    );
    const agent = new ServerProcess({ name: 'bao agent (sidecar)', command: stack.cluster.binary, args: ['agent', `-config=${join(home, 'agent.hcl')}`], logFile: join(home, 'agent.log'), env: { PATH: process.env.PATH, HOME: home }, cwd: home });
    try {
      const first = await waitFor('the agent to render', () => Promise.resolve(existsSync(credsFile) ? (JSON.parse(readFileSync(credsFile, 'utf8')) as { username: string; password: string; lease_id: string }) : undefined), {
        timeoutMs: 60_000,
        signal: agent.exitSignal,
      });
      stack.secrets.add('db password', first.password);
      stack.secrets.add('vault token (agent approle login)', readFileSync(join(home, '.vault-token'), 'utf8').trim());
      const api = await stack.startUsersApi('users-api-sidecar', { CREDENTIALS_MODE: 'file', CREDENTIALS_FILE: credsFile, CREDENTIALS_REFRESH: 'agent' });
      const load = new HttpLoad(api.url);
      const ready = new ReadinessWatch(api.url);
      const t = { revokedAt: 0, renderedAt: 0 };
      try {
        await waitFor('load running', () => Promise.resolve(load.ok > 50 ? true : undefined), { timeoutMs: 30_000 });
        t.revokedAt = Date.now();
        await root.sys.revokeLease(first.lease_id);
        await waitFor('the agent to render new credentials', () => {
          const now = JSON.parse(readFileSync(credsFile, 'utf8')) as { username: string; password: string };
          if (now.username === first.username) return Promise.resolve(undefined);
          stack.secrets.add('db password', now.password);
          return Promise.resolve(true);
        }, { timeoutMs: 60_000, intervalMs: 100 });
        t.renderedAt = Date.now();
        const settled = load.ok;
        await waitFor('serving again', () => Promise.resolve(load.ok > settled + 50 && ready.samples.at(-1)?.status === 200 ? true : undefined), { timeoutMs: 30_000 });
      } finally {
        await load.stop();
        await ready.stop();
      }
      const failures = load.failures();
      const notReadyAt = ready.firstNotReadyAfter(t.revokedAt);
      console.log(
        `scenario 6 (sidecar): ${load.records.length} requests, ${failures.length} failed, all between the revocation and the agent's new render ` +
          `(${t.renderedAt - t.revokedAt} ms without valid credentials; ${load.describeFailures()}); not ready ${String((notReadyAt ?? Number.NaN) - t.revokedAt)} ms after the revocation`,
      );
      assert.deepEqual(failures.filter((f) => f.wallEnd < t.revokedAt || f.wallStart > t.renderedAt + 5_000), [], 'failures only while no valid credentials existed');
      assert.ok(notReadyAt !== undefined && notReadyAt < t.renderedAt, 'not ready while the credentials were refused');
      assert.ok(((await api.rotations())['file-changed'] ?? 0) >= 1, 'users-api followed the new file by itself');
      assert.deepEqual(await stack.sql(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [first.username]), [], 'the revoked role is gone');
      await api.stop();
    } finally {
      await agent.stop();
    }
    stack.assertNoSecretsInAnyLog([readLog(join(home, 'agent.log'), 'sidecar agent')]);
  });
});
