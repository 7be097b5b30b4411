// Persona Vault Admin, part 1: a 3-node OpenBao raft cluster that the Rotor
// unsealer initializes, joins and unseals; then the leader crashes and comes
// back sealed, and the unsealer (kept running) unseals it again.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { startOpenBaoCluster, waitFor, type OpenBaoCluster, type OpenBaoNode } from '@rotor/testbed';
import { FileKeyStore, StaticDiscovery, Unsealer, type UnsealKeys } from '@rotor/unsealer';
import { VaultClient, type Health } from '@rotor/vault-client';
import type { DemoContext, Figures } from './context.ts';
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
  const log = unsealerLog(join(dir, 'unsealer.log'));
  teardown.add('unsealer log', () => new Promise<void>((resolve) => log.flush(() => resolve())));

  narrator.info(`Rotor unsealer: static discovery of ${addresses.length} nodes, key store file ${keyFile} (0600, in a 0700 dir), 5 shares / threshold 3`);
  started = performance.now();
  const once = new Unsealer({ discovery: new StaticDiscovery(addresses), keyStore: store, logger: log });
  await once.runUntilSettled(120_000);
  const keys = await waitFor('the keys in the key store', () => store.load(), { timeoutMs: 10_000, signal });
  rememberKeys(ctx, keys);
  const root = keys.rootToken;
  if (root === undefined) throw new Error('the key store holds no root token (policy "keep" expected)');
  const summary = await waitForHealthy(cluster, root, signal);
  const bootstrapMs = performance.now() - started;
  figures.bootstrapMs = bootstrapMs;
  narrator.check(true, `initialized once, ${summary.voters} raft voters, leader ${summary.leader}, all unsealed`, `in ${seconds(bootstrapMs)}`);
  narrator.info('unseal keys and root token went straight to the key store: never printed, never logged');

  // The unsealer keeps running from here on, like its Deployment in the cluster.
  const unsealer = new Unsealer({ discovery: new StaticDiscovery(addresses), keyStore: store, logger: log, probe: { intervalMs: 250 } });
  unsealer.start();
  teardown.add('unsealer', async () => {
    if (unsealer.state === 'running' || unsealer.state === 'halted') await unsealer.stop();
  });
  narrator.info('unsealer keeps running in the background (seal-status probe every 250 ms, resync every 5 s)');

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
  for (const key of keys.keys) ctx.secrets.addUnsealKey(key);
  ctx.secrets.add(keys.rootToken);
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
