// Leader failover on a real 3-node OpenBao raft cluster (the testbed's, kept unsealed by the
// unsealer), under a read and a write loop: the active node is killed (SIGKILL), then measured
// are the time to a new active node and to the first successful write after the kill. The node
// comes back (unsealed by the unsealer) before the next round, and each round's kill waits for a
// settled cluster (see settled()). Target: ≤ 3 s to the first write.
// Prints readable lines, then one JSON line.
//   node --import tsx --conditions=rotor-source bench/failover/main.ts   (BENCH_ROUNDS, default 5)
// BENCH_LOG_DIR=<dir> keeps the nodes' OpenBao logs there (each round's kill time is printed in UTC).
import { performance } from 'node:perf_hooks';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { archiveServerLogs, startOpenBaoCluster, waitFor, vaultAdmin, type OpenBaoCluster, type OpenBaoNode } from '@rotor/testbed';
import { VaultClient } from '@rotor/vault-client';
import { FileKeyStore, StaticDiscovery, Unsealer } from '@rotor/unsealer';
import { setRaftPerformanceMultiplier } from '../common/servers.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/**
 * BENCH_PERFORMANCE_MULTIPLIER: set raft's `performance_multiplier` in the testbed nodes' config
 * (replaced or written into the storage stanza, nodes restarted before initialization), to measure
 * another value than the testbed's (1, as deploy/vault/server.yaml). Unset: the config as it is.
 */
const PERFORMANCE_MULTIPLIER = process.env.BENCH_PERFORMANCE_MULTIPLIER;
const LOOP_MS = 20;
const TARGETS = { firstWriteMs: 3_000 };

const client = (address: string, token?: string): VaultClient => new VaultClient({ address, timeoutMs: 1_000, retry: { attempts: 1 }, ...(token ? { token } : {}) });

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function active(nodes: readonly OpenBaoNode[]): Promise<OpenBaoNode | undefined> {
  const health = await Promise.all(nodes.map((n) => client(n.address).sys.health().catch(() => undefined)));
  return nodes.find((_, i) => health[i]?.status === 200);
}

/** When each running node was first seen unsealed (cleared when it is killed). */
const unsealedAt = new Map<OpenBaoNode, number>();

async function healthy(cluster: OpenBaoCluster): Promise<OpenBaoNode> {
  let leader: OpenBaoNode | undefined;
  await waitFor(
    'all unsealed, one active',
    async () => {
      const health = await Promise.all(cluster.nodes.map((n) => client(n.address).sys.health().catch(() => undefined)));
      cluster.nodes.forEach((n, i) => {
        if (health[i] && !health[i].sealed && !unsealedAt.has(n)) unsealedAt.set(n, performance.now());
      });
      leader = cluster.nodes.find((_, i) => health[i]?.status === 200);
      return health.every((h) => h && !h.sealed) && health.filter((h) => h?.status === 200).length === 1 ? true : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 20 },
  );
  if (!leader) throw new Error('no active node');
  return leader;
}

/** Request loops against the nodes in turn (standbys forward to the active node), timestamping each success. */
class Load {
  lastWriteOk = 0;
  lastReadOk = 0;
  writes = { ok: 0, failed: 0 };
  reads = { ok: 0, failed: 0 };
  #stopped = false;
  readonly #loops: Promise<void>[];

  constructor(nodes: readonly OpenBaoNode[], token: string) {
    const loop = async (write: boolean): Promise<void> => {
      for (let n = 0; !this.#stopped; n++) {
        const node = nodes[n % nodes.length]!;
        try {
          if (write) await client(node.address, token).request('PUT', 'bench-kv/failover', { body: { n } });
          else await client(node.address, token).request('GET', 'bench-kv/failover');
          if (write) {
            this.writes.ok++;
            this.lastWriteOk = performance.now();
          } else {
            this.reads.ok++;
            this.lastReadOk = performance.now();
          }
        } catch {
          (write ? this.writes : this.reads).failed++;
        }
        await delay(LOOP_MS);
      }
    };
    this.#loops = [loop(true), loop(false)];
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
  }
}

/** Healthy, and all three nodes raft voters (autopilot promotes a joined node only once it is stable). */
async function ready(cluster: OpenBaoCluster, token: string): Promise<OpenBaoNode> {
  let leader = await healthy(cluster);
  await waitFor(
    'three raft voters',
    async () => {
      leader = await healthy(cluster);
      const { servers } = await client(leader.address, token).sys.raftConfiguration();
      return servers.filter((s) => s.voter).length === cluster.nodes.length ? true : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 200 },
  );
  return leader;
}

/** raft's performance_multiplier in a node's config file (OpenBao's default, 5, when unset). */
function performanceMultiplier(node: OpenBaoNode): number {
  const match = /performance_multiplier = (\d+)/.exec(readFileSync(join(dirname(node.dataDir), 'config.hcl'), 'utf8'));
  return match ? Number(match[1]) : 5;
}

interface AutopilotState {
  healthy: boolean;
  leader: string;
  servers: Record<string, { healthy: boolean }>;
}

/**
 * A failover in production starts from a settled cluster; a round's kill waits for one (the measured
 * interval still starts at the SIGKILL):
 * - every node past raft's startup timeouts: OpenBao runs a node's raft with 3× the heartbeat and
 *   election timeouts from its unseal until it is candidate or leader, or 3 to 6 heartbeat timeouts
 *   (1 s × performance_multiplier each) have passed (physical/raft SetupCluster). A follower with a
 *   leader rejects (pre-)votes, so a survivor that has just come back, still on the 3× timeout, holds
 *   the election up until it notices the loss itself: every other round took ~2 s more.
 * - autopilot healthy and every server healthy (alive, in contact, its log within autopilot's
 *   trailing-logs bound of the leader's; the last indexes autopilot reports for followers come from
 *   their periodic heartbeats and trail the leader's by a few hundred under the write loop, so a
 *   tighter bound on them would never hold).
 */
async function settled(cluster: OpenBaoCluster, token: string): Promise<OpenBaoNode> {
  const startupWindowMs = (node: OpenBaoNode): number => 6_000 * performanceMultiplier(node) + 100;
  const deadline = performance.now() + 180_000;
  for (let last = 'no answer yet'; ; ) {
    if (performance.now() > deadline) throw new Error(`the cluster did not settle: autopilot state ${last}`);
    const leader = await ready(cluster, token);
    const pending = cluster.nodes.map((n) => (unsealedAt.get(n) ?? performance.now()) + startupWindowMs(n) - performance.now()).filter((ms) => ms > 0);
    if (pending.length > 0) {
      await delay(Math.max(...pending));
      continue;
    }
    let state: AutopilotState | undefined;
    try {
      const body = await client(leader.address, token).request<{ data?: AutopilotState }>('GET', 'sys/storage/raft/autopilot/state');
      state = body?.data;
    } catch {
      state = undefined;
    }
    last = JSON.stringify(state);
    const servers = Object.values(state?.servers ?? {});
    if (state?.healthy && servers.length === cluster.nodes.length && servers.every((s) => s.healthy)) return leader;
    await delay(200);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'rotor-bench-failover-'));
if (process.env.BENCH_LOG_DIR) {
  mkdirSync(process.env.BENCH_LOG_DIR, { recursive: true });
  archiveServerLogs(process.env.BENCH_LOG_DIR);
}
const cluster = await startOpenBaoCluster({ nodes: 3 });
const keyStore = new FileKeyStore(join(dir, 'keys.json'));
const unsealer = new Unsealer({ discovery: new StaticDiscovery(cluster.nodes.map((n) => n.address)), keyStore });
let load: Load | undefined;
try {
  if (PERFORMANCE_MULTIPLIER !== undefined) await setRaftPerformanceMultiplier(cluster, Number(PERFORMANCE_MULTIPLIER));
  unsealer.start();
  let leader = await healthy(cluster);
  const token = (await keyStore.load())?.rootToken;
  if (!token) throw new Error('no root token in the key store');
  leader = await ready(cluster, token);
  await vaultAdmin.enableMount(client(leader.address, token), 'bench-kv', { type: 'kv' });
  load = new Load(cluster.nodes, token);
  await waitFor('a first write', () => Promise.resolve(load && load.writes.ok > 0 ? true : undefined), { timeoutMs: 30_000 });

  const rounds: { killed: string; newActiveMs: number; firstWriteMs: number; firstReadMs: number }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    await delay(1_000);
    leader = await settled(cluster, token);
    const killed = leader;
    const survivors = cluster.nodes.filter((n) => n !== killed);
    const t0 = performance.now();
    const killedAt = new Date().toISOString();
    await killed.kill();
    unsealedAt.delete(killed);
    let newActiveMs = Number.NaN;
    await waitFor(
      'a new active node',
      async () => {
        const next = await active(survivors);
        if (!next) return undefined;
        newActiveMs = performance.now() - t0;
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 20 },
    );
    const current = load;
    await waitFor('a write after the kill', () => Promise.resolve(current.lastWriteOk > t0 && current.lastReadOk > t0 ? true : undefined), { timeoutMs: 60_000, intervalMs: 10 });
    rounds.push({ killed: killed.id, newActiveMs: Math.round(newActiveMs), firstWriteMs: Math.round(load.lastWriteOk - t0), firstReadMs: Math.round(load.lastReadOk - t0) });
    console.log(`round ${r + 1}: killed ${killed.id} at ${killedAt}; new active after ${rounds.at(-1)?.newActiveMs} ms, first write after ${rounds.at(-1)?.firstWriteMs} ms, first read after ${rounds.at(-1)?.firstReadMs} ms`);
    await killed.start();
    leader = await ready(cluster, token);
  }
  await load.stop();
  const writes = rounds.map((r) => r.firstWriteMs);
  const actives = rounds.map((r) => r.newActiveMs);
  const summary = {
    newActiveMs: { median: percentile(actives, 50), max: Math.max(...actives) },
    firstWriteMs: { median: percentile(writes, 50), max: Math.max(...writes) },
  };
  console.log(`new active: median ${summary.newActiveMs.median} ms, max ${summary.newActiveMs.max} ms; first write: median ${summary.firstWriteMs.median} ms, max ${summary.firstWriteMs.max} ms (target <= ${TARGETS.firstWriteMs} ms)`);
  console.log(JSON.stringify({ bench: 'failover', performanceMultiplier: PERFORMANCE_MULTIPLIER === undefined ? 'testbed config' : Number(PERFORMANCE_MULTIPLIER), rounds, ...summary, writes: load.writes, reads: load.reads, targets: TARGETS, met: { firstWrite: summary.firstWriteMs.max <= TARGETS.firstWriteMs } }));
} finally {
  await load?.stop();
  await unsealer.stop();
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
