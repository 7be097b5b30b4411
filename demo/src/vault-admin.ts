// Persona Vault Admin, part 1: a 3-node OpenBao raft cluster that the Rotor
// unsealer initializes, joins and unseals; then the leader crashes and comes
// back sealed, and the unsealer (kept running) unseals it again.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { freePort, ServerProcess, startOpenBaoCluster, waitFor, type OpenBaoCluster, type OpenBaoNode } from '@rotor/testbed';
import { FileKeyStore, StaticDiscovery, Unsealer, type UnsealKeys } from '@rotor/unsealer';
import { VaultClient, type Health } from '@rotor/vault-client';
import { childEnv, rotor } from './commands.ts';
import { REPO_ROOT, type DemoContext, type Figures } from './context.ts';
import { seconds } from './narrator.ts';

export interface Vault {
  cluster: OpenBaoCluster;
  /** Address of the active node (changes after the leader crash). */
  activeAddress(): Promise<string>;
  /** A file (0600) holding the root token, for `rotor configure --token-file`. */
  rootTokenFile: string;
  /** A client of the active node with the root token (the Vault Admin's). */
  admin(): Promise<VaultClient>;
}

const probe = (address: string): VaultClient => new VaultClient({ address, timeoutMs: 2_000, retry: { attempts: 1 } });

async function health(node: OpenBaoNode): Promise<Health | undefined> {
  if (!node.running) return undefined;
  return probe(node.address).sys.health().catch(() => undefined);
}

async function activeNode(cluster: OpenBaoCluster, signal: AbortSignal, timeoutMs = 60_000): Promise<OpenBaoNode> {
  return waitFor(
    'an active (leader) node',
    async () => {
      for (const node of cluster.nodes) if ((await health(node))?.status === 200) return node;
      return undefined;
    },
    { timeoutMs, intervalMs: 50, signal },
  );
}

export async function vaultAdminCluster(ctx: DemoContext, figures: Figures): Promise<Vault> {
  const { narrator, teardown, dir, signal } = ctx;
  narrator.step(2, 'Vault Admin', 'OpenBao with Raft HA, initialized and unsealed by the Rotor unsealer');
  let started = performance.now();
  const cluster = await startOpenBaoCluster({ nodes: 3 });
  teardown.add('OpenBao cluster', () => cluster.stop());
  narrator.info(`3 OpenBao nodes started, each on its own loopback address like a pod IP, in ${seconds(performance.now() - started)}:`);
  for (const n of cluster.nodes) narrator.info(`  ${n.id}  ${n.address}  (uninitialized, sealed)`);

  const keyDir = join(dir, 'unsealer');
  mkdirSync(keyDir, { mode: 0o700 });
  const keyFile = join(keyDir, 'keys.json');
  const store = new FileKeyStore(keyFile);
  const addresses = cluster.nodes.map((n) => n.address);
  const logFile = join(dir, 'unsealer.log');
  const log = unsealerLog(logFile);
  teardown.add('unsealer log', () => new Promise<void>((resolve) => log.flush(() => resolve())));

  const cli = ['unseal', '--nodes', addresses.join(','), '--key-store', `file:${keyFile}`];
  narrator.info(`$ rotor ${cli.join(' ')} --once`);
  narrator.info('  (static discovery of the 3 nodes; key store: a 0600 file in a 0700 dir; 5 shares, threshold 3)');
  started = performance.now();
  const once = await rotor([...cli, '--once', '--log-level', 'info'], childEnv(), signal);
  writeFileSync(logFile, once.stdout + once.stderr, { flag: 'a' });
  const viaCli = !(once.code === 2 && /unknown command/i.test(once.stderr));
  if (viaCli) {
    const last = once.stdout.trim().split('\n').filter((l) => !l.startsWith('{')).at(-1);
    if (last) narrator.quote(last);
    if (once.code !== 0) throw new Error(`rotor unseal --once failed (exit ${String(once.code)}): ${once.stderr.trim().split('\n').at(-1) ?? ''}`);
  } else {
    narrator.note('this checkout\'s rotor CLI has no "unseal" command yet: running the same Unsealer (packages/unsealer) in-process');
    const unsealer = new Unsealer({ discovery: new StaticDiscovery(addresses), keyStore: store, logger: log });
    await unsealer.runUntilSettled(120_000);
  }
  const keys = await waitFor('the keys in the key store', () => store.load(), { timeoutMs: 10_000, signal });
  rememberKeys(ctx, keys);
  const root = keys.rootToken;
  if (root === undefined) throw new Error('the key store holds no root token (policy "keep" expected)');
  const unsealedMs = performance.now() - started;
  const summary = await waitForHealthy(cluster, root, signal);
  const bootstrapMs = performance.now() - started;
  figures.bootstrapMs = unsealedMs;
  figures.votersMs = bootstrapMs;
  narrator.check(true, `initialized once, 3 nodes joined and unsealed in ${seconds(unsealedMs)};`, `${summary.voters} raft voters, leader ${summary.leader} after ${seconds(bootstrapMs)} (autopilot promotes joined nodes once stable)`);
  narrator.info('unseal keys and root token went straight to the key store: never printed, never logged');

  // The unsealer keeps running from here on, like its Deployment in the cluster.
  if (viaCli) {
    const healthPort = await freePort('127.0.0.1');
    const background = new ServerProcess({
      name: 'rotor unseal',
      command: process.execPath,
      args: [join(REPO_ROOT, 'packages/cli/bin/rotor.js'), ...cli, '--health-port', String(healthPort)],
      logFile: join(dir, 'unsealer-background.log'),
      env: childEnv(),
      cwd: REPO_ROOT,
    });
    teardown.add('rotor unseal', () => background.stop());
    await waitFor(
      'rotor unseal /healthz',
      async () => {
        const res = await fetch(`http://127.0.0.1:${healthPort}/healthz`, { signal: AbortSignal.timeout(2_000) });
        await res.body?.cancel();
        return res.status === 200 ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100, signal: AbortSignal.any([signal, background.exitSignal]) },
    ).catch((err: unknown) => {
      throw background.failure('did not become healthy', err);
    });
    narrator.info(`$ rotor ${cli.join(' ')} --health-port ${healthPort} &   (keeps running: seal-status probe every 250 ms, resync 5 s)`);
  } else {
    const unsealer = new Unsealer({ discovery: new StaticDiscovery(addresses), keyStore: store, logger: log });
    unsealer.start();
    teardown.add('unsealer', async () => {
      if (unsealer.state === 'running' || unsealer.state === 'halted') await unsealer.stop();
    });
    narrator.info('unsealer keeps running in the background (seal-status probe every 250 ms, resync every 5 s)');
  }

  const leader = await activeNode(cluster, signal);
  narrator.info(`kill -9 the leader ${leader.id} ...`);
  const killedAt = performance.now();
  await leader.kill();
  const next = await activeNode(cluster, signal);
  figures.leaderFailoverMs = performance.now() - killedAt;
  narrator.check(next !== leader, `${next.id} took over as leader`, `after ${seconds(figures.leaderFailoverMs)}`);
  await leader.start();
  const restartedAt = performance.now();
  const sealedAfterRestart = (await health(leader))?.sealed;
  narrator.info(`${leader.id} restarted (listener up${sealedAfterRestart === true ? ', sealed' : ''}): a restarted node always comes back sealed`);
  await waitFor(
    `${leader.id} unsealed by the running unsealer`,
    async () => ((await health(leader))?.sealed === false ? true : undefined),
    { timeoutMs: 60_000, intervalMs: 25, signal },
  );
  figures.restartUnsealMs = performance.now() - restartedAt;
  const after = await waitForHealthy(cluster, root, signal);
  narrator.check(true, `${leader.id} unsealed again by the unsealer`, `in ${seconds(figures.restartUnsealMs)} (${after.voters} voters, leader ${after.leader})`);

  const rootTokenFile = join(keyDir, 'root-token');
  writeFileSync(rootTokenFile, root, { mode: 0o600 });
  const activeAddress = async (): Promise<string> => (await activeNode(cluster, signal)).address;
  return {
    cluster,
    rootTokenFile,
    activeAddress,
    admin: async () => new VaultClient({ address: await activeAddress(), token: root, timeoutMs: 10_000 }),
  };
}

function rememberKeys(ctx: DemoContext, keys: UnsealKeys): void {
  for (const key of keys.keys) ctx.secrets.addKey('unseal key', key);
  ctx.secrets.add('root token', keys.rootToken);
}

/** The unsealer's JSON log goes to a file in the demo's temp dir (scanned for secrets at the end). */
function unsealerLog(path: string): Logger {
  return pino({ level: 'info' }, pino.destination({ dest: path, sync: true }));
}

/** All nodes unsealed, exactly one active, raft lists all of them as voters. */
async function waitForHealthy(cluster: OpenBaoCluster, rootToken: string, signal: AbortSignal): Promise<{ voters: number; leader: string }> {
  return waitFor(
    'all nodes unsealed, one active, all raft voters',
    async () => {
      const states = await Promise.all(cluster.nodes.map((n) => health(n)));
      if (!states.every((h) => h?.initialized === true && !h.sealed)) return undefined;
      const active = cluster.nodes.filter((_, i) => states[i]?.status === 200);
      if (active.length !== 1 || !active[0]) return undefined;
      const client = new VaultClient({ address: active[0].address, token: rootToken, timeoutMs: 2_000, retry: { attempts: 1 } });
      const { servers } = await client.sys.raftConfiguration();
      const leaders = servers.filter((s) => s.leader);
      if (servers.length !== cluster.nodes.length || !servers.every((s) => s.voter) || leaders.length !== 1) return undefined;
      return { voters: servers.length, leader: leaders[0]?.nodeId ?? '?' };
    },
    { timeoutMs: 90_000, intervalMs: 50, signal },
  );
}
