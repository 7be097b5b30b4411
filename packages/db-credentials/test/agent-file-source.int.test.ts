// AgentFileSource fed by a real `bao agent` (approle auto-auth) rendering
// templates/db-creds.json.ctmpl from real database leases: sidecar mode with
// rotations under load, and init-container mode (render once, then exit).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { ServerProcess, startOpenBao, startPostgres, waitFor, type OpenBaoDevServer, type PostgresServer } from '@rotor/testbed';
import { AgentFileSource } from '../src/agent-file-source.ts';
import { CredentialMetrics } from '../src/metrics.ts';
import { RotatingPool } from '../src/rotating-pool.ts';
import type { DbCredentials } from '../src/credentials.ts';
import { QueryLoad, assertNoSecrets, assertRecoveryUnused, captureLogs, rotationsByReason, setUpAppRole, setUpSeed, until, vaultUserBackends } from './fixtures.ts';

const TEMPLATE = fileURLToPath(new URL('../templates/db-creds.json.ctmpl', import.meta.url));

describe('AgentFileSource fed by a real bao agent', { timeout: 240_000 }, () => {
  let db: PostgresServer;
  let bao: OpenBaoDevServer;
  let dir: string;
  let approle: { roleId: string; secretId: string };

  before(async () => {
    [db, bao] = await Promise.all([startPostgres(), startOpenBao({ mode: 'dev' })]);
    dir = mkdtempSync(join(tmpdir(), 'rotor-agent-'));
    const root = await setUpSeed(db, bao, { 'db-reader-role': { defaultTtl: '4s', maxTtl: '8s' } });
    approle = await setUpAppRole(root, 'app');
    writeFileSync(join(dir, 'role-id'), approle.roleId);
    writeFileSync(join(dir, 'secret-id'), approle.secretId);
  });
  after(async () => {
    await Promise.all([db?.stop(), bao?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Writes an agent config (approle auto-auth, our template) and starts `bao agent`. */
  function startAgent(name: string, exitAfterAuth: boolean): { agent: ServerProcess; creds: string } {
    const home = join(dir, name);
    mkdirSync(home);
    const creds = join(home, 'secrets', 'db-creds.json');
    mkdirSync(join(home, 'secrets'));
    const config = join(home, 'agent.hcl');
    writeFileSync(
      config,
      `pid_file = "${join(home, 'agent.pid')}"
exit_after_auth = ${exitAfterAuth}
vault {
  address = "${bao.address}"
}
auto_auth {
  method "approle" {
    mount_path = "auth/approle"
    config = {
      role_id_file_path = "${join(dir, 'role-id')}"
      secret_id_file_path = "${join(dir, 'secret-id')}"
      remove_secret_id_file_after_reading = false
    }
  }
}
template_config {
  exit_on_retry_failure = true
}
template {
  source      = "${TEMPLATE}"
  destination = "${creds}"
  perms       = "0600"
}
`,
    );
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home };
    const agent = new ServerProcess({ name: `bao agent (${name})`, command: bao.binary, args: ['agent', `-config=${config}`, '-log-level=debug'], logFile: join(home, 'agent.log'), env, cwd: home });
    return { agent, creds };
  }

  it('sidecar mode: follows the agent through rotations with zero failed queries', async () => {
    const { agent, creds } = startAgent('sidecar', false);
    const logs = captureLogs();
    let source: AgentFileSource | undefined;
    let pool: RotatingPool | undefined;
    try {
      await waitFor('agent to render the credentials', () => Promise.resolve(existsSync(creds) ? true : undefined), { timeoutMs: 30_000, signal: agent.exitSignal }).catch((err: unknown) => {
        throw agent.failure('did not render', err);
      });
      const registry = new Registry();
      const metrics = new CredentialMetrics(registry);
      source = new AgentFileSource({ path: creds, metrics, logger: logs.logger });
      const seen: DbCredentials[] = [await source.start()];
      source.subscribe((c) => seen.push(c));
      assert.match(seen[0]?.leaseId ?? '', /^database\/creds\/db-reader-role\//);
      assert.ok(seen[0]?.expiresAt && seen[0].expiresAt.getTime() > Date.now() - 1_000, 'expiry from issued_at + lease_duration');
      const started = pool = new RotatingPool({ source, pg: { host: db.host, port: db.port, database: 'postgres', max: 3 }, metrics, logger: logs.logger });
      await started.start();
      const load = new QueryLoad(3, () => started.query('SELECT id, title, name FROM users'));
      try {
        await until('two rotations rendered by the agent', () => seen.length >= 3, 90_000);
        await until('the pool on the latest credentials', () => started.username === seen.at(-1)?.username);
      } finally {
        await load.stop();
      }
      assert.deepEqual(load.failures.slice(0, 3), [], `${load.failures.length} failed queries of ${load.ok + load.failures.length}`);
      assert.ok(load.ok > 50);
      const reasons = await rotationsByReason(registry);
      assert.deepEqual(Object.keys(reasons), ['file-changed'], `rotations by reason: ${JSON.stringify(reasons)}`);
      await assertRecoveryUnused(registry, logs.text());
      assertNoSecrets(logs.text(), { 'db password': seen.map((c) => c.password), 'approle secret id': [approle.secretId], 'root token': [bao.rootToken] });
    } finally {
      await pool?.stop();
      await source?.stop();
      await agent.stop();
    }
    await waitFor('no backends left', async () => ((await vaultUserBackends(db)).length === 0 ? true : undefined), { timeoutMs: 15_000 });
  });

  it('init-container mode: renders once, exits, and the source exposes the expiry', async () => {
    const { agent, creds } = startAgent('init', true);
    await waitFor('agent to exit after rendering', () => Promise.resolve(agent.running ? undefined : true), { timeoutMs: 30_000 });
    await agent.stop();
    assert.equal(agent.describeExit(), 'code 0', agent.logTail());
    const source = new AgentFileSource({ path: creds, watch: false });
    const first = await source.start();
    try {
      assert.ok(first.expiresAt, 'expiry known');
      const lifetime = first.expiresAt.getTime() - Date.now();
      assert.ok(lifetime > 0 && lifetime <= 4_000, `expires within the 4s lease (${lifetime} ms)`);
      assert.equal(first.leaseDuration, 4);
    } finally {
      await source.stop();
    }
  });
});
