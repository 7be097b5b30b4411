// The seed's flow, persona by persona, with real components; then the point of
// Rotor: credentials rotating under HTTP load with zero failed requests.
import { once } from 'node:events';
import { VaultTap, waitFor } from '@rotor/testbed';
import type { DemoContext, Figures, LoadFigures } from './context.ts';
import { configureVault, type AgentAuth } from './configure.ts';
import { dbAdmin, type Database } from './db-admin.ts';
import { kubeAvailable, kubernetesAuth, startKube, type KubeAuth } from './kubernetes.ts';
import { driveLoad, scrapeCounter, scrapeRotations, type LoadResult } from './load.ts';
import { seconds } from './narrator.ts';
import { renderedUsername, seedChecks, startAgent, startUsersApi, type Agent, type UsersApi } from './service-owner.ts';
import { readText } from './secrets.ts';
import { vaultAdminCluster, type Vault } from './vault-admin.ts';

const ROTATIONS = 'rotor_db_credentials_rotations_total';
/** The rotations each mode is about; a swap forced by refused credentials (auth-failure) is a recovery, never counted as one. */
const AGENT_ROTATION = { reason: 'file-changed' };
const LEASE_ROTATION = { reason: 'renewal-truncated' };

/**
 * The pool's one-shot retry on refused credentials must stay unused in normal
 * rotation: no auth-failure rotation, no "refused" warning in users-api's log.
 */
async function checkRecoveryUnused(ctx: DemoContext, api: UsersApi, before: Record<string, number>): Promise<void> {
  const after = (await scrapeRotations(api.url)) ?? {};
  const delta: Record<string, number> = {};
  for (const [reason, n] of Object.entries(after)) if (n > (before[reason] ?? 0)) delta[reason] = n - (before[reason] ?? 0);
  const refused = readText(api.logFile).includes('database refused the credentials');
  ctx.narrator.check(
    (delta['auth-failure'] ?? 0) === 0 && !refused,
    'the refused-credentials recovery stayed unused:',
    `rotations by reason ${Object.entries(delta).map(([k, v]) => `${k}×${v}`).join(', ') || 'none'}; auth-failure 0, no "refused" warning`,
  );
}

export async function runDemo(ctx: DemoContext): Promise<Figures> {
  const { narrator, options, signal } = ctx;
  const useKube = !options.forceAppRole && kubeAvailable();
  const figures: Figures = { kubernetesAuth: useKube };
  // The apiserver takes longest to start: start it now, use it in step 3.
  const kubeStarting = useKube ? startKube(ctx) : undefined;

  const db = await dbAdmin(ctx);
  signal.throwIfAborted();
  const vault = await vaultAdminCluster(ctx, figures);
  signal.throwIfAborted();

  let kube: KubeAuth | undefined;
  if (kubeStarting) {
    kube = await kubernetesAuth(ctx, kubeStarting);
  } else {
    narrator.step(3, 'Vault Admin', 'Kubernetes auth');
    narrator.note(
      options.forceAppRole
        ? '--approle: the agent logs in with approle instead of kubernetes auth'
        : 'kube testbed not built ("bash testbed/build.sh kube"): falling back to approle auth for the agent',
    );
  }
  signal.throwIfAborted();

  const auth = await configureVault(ctx, db, vault, kube);
  signal.throwIfAborted();

  const address = await vault.activeAddress();
  const agent = await startAgent(ctx, address, auth);
  const api = await startUsersApi(ctx, 'users-api', { CREDENTIALS_MODE: 'file', CREDENTIALS_FILE: agent.credentialsFile, CREDENTIALS_REFRESH: 'agent' }, db.server.port);
  narrator.info(`users-api (CREDENTIALS_MODE=file, the agent's file) ready at ${api.url}`);
  await seedChecks(ctx, api, agent.usernames);
  signal.throwIfAborted();

  figures.fileMode = await rotationUnderLoad(ctx, db, api, agent);
  figures.revokedUsers = await revokedByVault(ctx, db, agent);
  signal.throwIfAborted();

  if (options.vaultModeSeconds > 0) {
    await api.stop();
    if (!narrator.check(api.process.describeExit() === 'code 0', 'users-api (file mode) stopped gracefully on SIGTERM', `(${api.process.describeExit()})`)) {
      narrator.quote(api.process.logTail(8));
    }
    figures.vaultMode = await directLease(ctx, db, address, auth);
  }

  if (options.keep) await keepRunning(ctx, vault, api, agent, db);
  return figures;
}

/** Step 6: the point of Rotor. */
async function rotationUnderLoad(ctx: DemoContext, db: Database, api: UsersApi, agent: Agent): Promise<LoadFigures> {
  const { narrator, options, signal } = ctx;
  narrator.step(6, 'Rotor', `HTTP load while the agent rotates the credentials (TTL ${options.credentialTtlSeconds}s)`);
  narrator.info(`${options.concurrency} concurrent GET loops on ${api.url}/users and /users/:id for ${options.loadSeconds} s (longer only until ${options.minRotations} rotations)`);
  const baseline = (await scrapeCounter(api.url, ROTATIONS, AGENT_ROTATION)) ?? 0;
  const reasonsBefore = (await scrapeRotations(api.url)) ?? {};
  const firstUser = agent.usernames.length - 1;
  const sampler = new Sampler(ctx, db, api.url, baseline, AGENT_ROTATION);
  let result: LoadResult;
  try {
    result = await driveLoad({
      url: api.url,
      concurrency: options.concurrency,
      minMs: options.loadSeconds * 1000,
      maxMs: options.loadSeconds * 2000,
      enough: () => sampler.rotations >= options.minRotations,
      signal,
      progress: {
        everyMs: 10_000,
        narrator,
        line: (ms, requests, failed) => `  ${Math.round(ms / 1000)} s: ${requests} requests, ${failed} failed, ${sampler.rotations} rotations, now as ${agent.current() ?? '?'}`,
      },
    });
  } finally {
    await sampler.stop();
  }
  const rotations = ((await scrapeCounter(api.url, ROTATIONS, AGENT_ROTATION)) ?? baseline) - baseline;
  const usernames = agent.usernames.slice(firstUser);
  const figures: LoadFigures = {
    seconds: result.elapsedMs / 1000,
    requests: result.requests,
    failed: result.failed,
    rotations,
    usernames: usernames.length,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
  };
  const why = [...result.failures].map(([k, v]) => `${k}×${v}`).join(', ');
  narrator.check(result.failed === 0, `${result.requests} requests in ${seconds(result.elapsedMs)}, ${result.failed} failed`, why ? `(${why})` : `(p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms)`);
  narrator.check(rotations >= options.minRotations, `${rotations} credential rotations under load`, `(pool swaps in users-api; at least ${options.minRotations} required)`);
  narrator.check(usernames.length >= rotations, `${usernames.length} database users rendered by the agent in turn`, `(${usernames.map(shortUser).join(' → ')})`);
  narrator.check(
    sampler.sessionUsers.size >= Math.min(usernames.length, options.minRotations),
    `users-api's sessions moved across ${sampler.sessionUsers.size} database users`,
    '(pg_stat_activity, sampled every second)',
  );
  await checkRecoveryUnused(ctx, api, reasonsBefore);
  return figures;
}

/** Old users disappear from PostgreSQL once their leases expire: Vault revoked them. */
async function revokedByVault(ctx: DemoContext, db: Database, agent: Agent): Promise<number> {
  const { narrator, options, signal } = ctx;
  const old = agent.usernames.slice(0, -1);
  const started = performance.now();
  const present = async (): Promise<string[]> =>
    (await db.observe<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [old])).map((r) => r.rolname);
  const left = await waitFor('old database users to be revoked', async () => ((await present()).length === 0 ? [] : undefined), {
    timeoutMs: (options.credentialTtlSeconds + 30) * 1000,
    intervalMs: 250,
    signal,
  }).catch(() => present());
  const current = agent.current();
  const currentExists = current !== undefined && (await db.observe('SELECT 1 FROM pg_roles WHERE rolname = $1', [current])).length === 1;
  narrator.check(
    left.length === 0 && currentExists,
    `${old.length} old database users revoked by Vault at lease end (gone from pg_roles); only the current one exists`,
    `(waited ${seconds(performance.now() - started)})`,
  );
  return old.length - left.length;
}

/** Step 7: users-api holding its own lease (vault mode): renew, truncated at max_ttl, re-issue, revoke. */
async function directLease(ctx: DemoContext, db: Database, address: string, auth: AgentAuth): Promise<NonNullable<Figures['vaultMode']>> {
  const { narrator, options, signal } = ctx;
  narrator.step(7, 'Service Owner', 'users-api holds its own lease (CREDENTIALS_MODE=vault, no agent)');
  const env: Record<string, string> =
    auth.method === 'kubernetes'
      ? { VAULT_AUTH_METHOD: 'kubernetes', VAULT_AUTH_ROLE: auth.role, VAULT_K8S_TOKEN_PATH: auth.tokenFile }
      : { VAULT_AUTH_METHOD: 'approle', VAULT_ROLE_ID: auth.roleId, VAULT_SECRET_ID: auth.secretId };
  // users-api reaches Vault through a tap that forwards unchanged and remembers the login tokens and
  // passwords Vault hands it, so the final scan looks for them too (users-api never shows them).
  const tap = new VaultTap({ target: () => address, secrets: ctx.secrets });
  await tap.start();
  ctx.teardown.add('Vault tap of users-api', () => tap.stop());
  const api = await startUsersApi(ctx, 'users-api-vault', { CREDENTIALS_MODE: 'vault', VAULT_ADDR: tap.address, VAULT_DB_ROLE: 'db-reader-role', ...env }, db.server.port);
  narrator.info(`users-api (CREDENTIALS_MODE=vault, ${auth.method} login) ready at ${api.url}`);
  const baseline = (await scrapeCounter(api.url, ROTATIONS, LEASE_ROTATION)) ?? 0;
  const reasonsBefore = (await scrapeRotations(api.url)) ?? {};
  const sampler = new Sampler(ctx, db, api.url, baseline, LEASE_ROTATION);
  let result: LoadResult;
  try {
    result = await driveLoad({
      url: api.url,
      concurrency: options.concurrency,
      minMs: options.vaultModeSeconds * 1000,
      maxMs: options.vaultModeSeconds * 3000,
      enough: () => sampler.rotations >= 1,
      signal,
    });
  } finally {
    await sampler.stop();
  }
  const reissues = ((await scrapeCounter(api.url, ROTATIONS, LEASE_ROTATION)) ?? baseline) - baseline;
  const log = readText(api.logFile);
  const renewals = log.split('\n').filter((l) => l.includes('lease renewal truncated')).length;
  const issued = log
    .split('\n')
    .filter((l) => l.includes('"issued new credentials"'))
    .map((l) => (JSON.parse(l) as { from?: { username?: string } }).from?.username)
    .filter((u): u is string => u !== undefined);
  narrator.check(result.failed === 0, `${result.requests} requests in ${seconds(result.elapsedMs)}, ${result.failed} failed`);
  narrator.check(reissues >= 1, `${renewals} lease renewals came back truncated at max_ttl → ${reissues} re-issues`, '(renew at ~2/3 of the lease, new credentials before it ends)');
  await checkRecoveryUnused(ctx, api, reasonsBefore);
  const current = (await db.observe<{ usename: string }>(`SELECT DISTINCT usename FROM pg_stat_activity WHERE application_name = 'users-api' AND usename IS NOT NULL`)).map((r) => r.usename);
  const users = [...new Set([...issued, ...current])];
  await api.stop();
  if (!narrator.check(api.process.describeExit() === 'code 0', 'users-api (vault mode) stopped gracefully on SIGTERM', `(${api.process.describeExit()})`)) {
    narrator.quote(api.process.logTail(4));
  }
  // The source revokes each lease it released, and its last one on stop; Vault ends them at max_ttl at the latest.
  const stoppedAt = performance.now();
  const present = async (): Promise<string[]> => (await db.observe<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [users])).map((r) => r.rolname);
  const left = await waitFor('the vault-mode users to be gone', async () => ((await present()).length === 0 ? [] : undefined), {
    timeoutMs: (options.credentialTtlSeconds + 30) * 1000,
    intervalMs: 250,
    signal,
  }).catch(() => present());
  const denied = readText(api.logFile).split('\n').filter((l) => l.includes('"operation":"revoke"') && l.includes('"failure":"denied"')).length;
  narrator.check(left.length === 0, `all ${users.length} database users of the vault-mode run are gone from pg_roles`, `(${seconds(performance.now() - stoppedAt)} after the stop)`);
  if (denied > 0) narrator.note(`users-api's own revoke calls were refused by app-policy (${denied}× 403 on sys/leases/revoke): the leases ended at their TTL instead`);
  return { seconds: result.elapsedMs / 1000, requests: result.requests, failed: result.failed, rotations: reissues, usernames: sampler.sessionUsers.size, p50Ms: result.p50Ms, p99Ms: result.p99Ms, renewals, reissues };
}

/**
 * --keep: everything stays up until Ctrl-C. Step 7 stopped the file-mode users-api (and its own
 * vault-mode one), so a fresh file-mode users-api on the agent's file is started for you to curl.
 */
async function keepRunning(ctx: DemoContext, vault: Vault, api: UsersApi, agent: Agent, db: Database): Promise<void> {
  const { narrator, signal } = ctx;
  narrator.step('∞', 'You', 'everything keeps running until Ctrl-C');
  const live = api.process.running
    ? api
    : await startUsersApi(ctx, 'users-api-keep', { CREDENTIALS_MODE: 'file', CREDENTIALS_FILE: agent.credentialsFile, CREDENTIALS_REFRESH: 'agent' }, db.server.port);
  narrator.info(`users-api (CREDENTIALS_MODE=file, the agent's file; TTL ${ctx.options.credentialTtlSeconds}s, so it keeps rotating) at ${live.url}`);
  narrator.info(`curl ${live.url}/users`);
  narrator.info(`curl ${live.url}/metrics | grep rotor_db`);
  narrator.info(`OpenBao nodes: ${vault.cluster.nodes.map((n) => n.address).join('  ')}`);
  narrator.info(`credentials file (rendered by the agent; holds a password): ${agent.credentialsFile}`);
  narrator.info(`current database user: ${renderedUsername(agent.credentialsFile)?.username ?? '?'}`);
  narrator.info('Ctrl-C tears everything down');
  if (!signal.aborted) await once(signal, 'abort').catch(() => undefined);
}

function shortUser(name: string): string {
  return name.length > 28 ? `${name.slice(0, 25)}…` : name;
}

/** Once a second during a load phase: rotations from users-api's /metrics, session users from pg_stat_activity. */
class Sampler {
  rotations = 0;
  readonly sessionUsers = new Set<string>();
  readonly #timer: NodeJS.Timeout;
  #inFlight: Promise<void> = Promise.resolve();

  constructor(ctx: DemoContext, db: Database, url: string, baseline: number, labels: Record<string, string>) {
    const sample = async (): Promise<void> => {
      const total = await scrapeCounter(url, ROTATIONS, labels);
      if (total !== undefined) this.rotations = total - baseline;
      const rows = await db
        .observe<{ usename: string }>(`SELECT DISTINCT usename FROM pg_stat_activity WHERE application_name = 'users-api' AND usename IS NOT NULL`)
        .catch(() => []);
      for (const r of rows) this.sessionUsers.add(r.usename);
    };
    this.#timer = setInterval(() => {
      this.#inFlight = this.#inFlight.then(sample).catch(() => undefined);
    }, 1_000);
    ctx.teardown.add('sampler', () => this.stop());
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#inFlight;
  }
}
