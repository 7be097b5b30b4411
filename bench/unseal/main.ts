// Benchmark of the unsealer on a real 3-node OpenBao raft cluster:
//  - bootstrap: from three fresh nodes to all initialized, joined, unsealed, one active;
//  - restart: from a node's restart (its listener up again) to that node unsealed,
//    over RESTARTS restarts taken round-robin (followers and leaders alike).
// Prints readable lines, then one JSON line with every figure.
//   node --import tsx --conditions=rotor-source bench/unseal/main.ts   (BENCH_RESTARTS, BENCH_PERFORMANCE_MULTIPLIER)
import { performance } from 'node:perf_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOpenBaoCluster, waitFor, type OpenBaoCluster } from '@rotor/testbed';
import { VaultClient } from '@rotor/vault-client';
import { FileKeyStore, StaticDiscovery, Unsealer } from '@rotor/unsealer';
import { setRaftPerformanceMultiplier } from '../common/servers.ts';

const RESTARTS = Number(process.env.BENCH_RESTARTS ?? 10);
/** BENCH_PERFORMANCE_MULTIPLIER: raft's `performance_multiplier` written into the testbed nodes' config (as bench/failover). */
const PERFORMANCE_MULTIPLIER = process.env.BENCH_PERFORMANCE_MULTIPLIER;
const TARGETS = { restartMedianMs: 1_000, bootstrapMs: 10_000 };

const client = (address: string): VaultClient => new VaultClient({ address, timeoutMs: 2_000, retry: { attempts: 1 } });

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function unsealed(address: string): Promise<true | undefined> {
  const status = await client(address).sys.sealStatus();
  return status.sealed ? undefined : true;
}

async function healthy(cluster: OpenBaoCluster): Promise<void> {
  await waitFor(
    'all unsealed, one active',
    async () => {
      const health = await Promise.all(cluster.nodes.map((n) => client(n.address).sys.health()));
      return health.every((h) => !h.sealed) && health.filter((h) => h.status === 200).length === 1 ? true : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 20 },
  );
}

const dir = mkdtempSync(join(tmpdir(), 'rotor-bench-unseal-'));
const cluster = await startOpenBaoCluster({ nodes: 3 });
const unsealer = new Unsealer({
  discovery: new StaticDiscovery(cluster.nodes.map((n) => n.address)),
  keyStore: new FileKeyStore(join(dir, 'keys.json')),
});
try {
  if (PERFORMANCE_MULTIPLIER !== undefined) await setRaftPerformanceMultiplier(cluster, Number(PERFORMANCE_MULTIPLIER));
  const bootStart = performance.now();
  // Where the bootstrap's time goes: when each node is first seen initialized, unsealed, and
  // serving (active or standby), polled every 20 ms from outside the unsealer.
  const phases = new Map<string, { initializedMs?: number; unsealedMs?: number; servingMs?: number }>(cluster.nodes.map((n) => [n.id, {}]));
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await Promise.all(
        cluster.nodes.map(async (n) => {
          const h = await client(n.address).sys.health().catch(() => undefined);
          const p = phases.get(n.id);
          if (!h || !p) return;
          const at = Math.round(performance.now() - bootStart);
          if (h.initialized) p.initializedMs ??= at;
          if (!h.sealed) p.unsealedMs ??= at;
          if (h.status === 200 || h.status === 429) p.servingMs ??= at;
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  unsealer.start();
  await healthy(cluster);
  const bootstrapMs = performance.now() - bootStart;
  sampling = false;
  await sampler;
  console.log(`bootstrap of a fresh 3-node cluster: ${bootstrapMs.toFixed(0)} ms`);
  for (const [id, p] of phases) console.log(`  ${id}: initialized ${p.initializedMs ?? '-'} ms, unsealed ${p.unsealedMs ?? '-'} ms, serving ${p.servingMs ?? '-'} ms`);

  const samples: number[] = [];
  for (let i = 0; i < RESTARTS; i++) {
    const node = cluster.nodes[i % cluster.nodes.length];
    if (!node) throw new Error('no node');
    await node.kill();
    await node.start(); // resolves once the listener answers
    const listening = performance.now();
    await waitFor(`${node.id} unsealed`, () => unsealed(node.address), { timeoutMs: 60_000, intervalMs: 5 });
    samples.push(performance.now() - listening);
    console.log(`restart ${i + 1} (${node.id}): unsealed ${samples.at(-1)?.toFixed(0)} ms after its listener came up`);
    await healthy(cluster);
  }

  const median = percentile(samples, 50);
  const p95 = percentile(samples, 95);
  console.log(`restart -> unsealed: median ${median.toFixed(0)} ms, p95 ${p95.toFixed(0)} ms (target median <= ${TARGETS.restartMedianMs} ms)`);
  console.log(JSON.stringify({
    bench: 'unseal',
    performanceMultiplier: PERFORMANCE_MULTIPLIER === undefined ? 'testbed config' : Number(PERFORMANCE_MULTIPLIER),
    restarts: samples.length,
    restartToUnsealedMs: { median: Math.round(median), p95: Math.round(p95), samples: samples.map(Math.round) },
    bootstrapMs: Math.round(bootstrapMs),
    bootstrapPhasesMs: Object.fromEntries(phases),
    targets: TARGETS,
    met: { restartMedian: median <= TARGETS.restartMedianMs, bootstrap: bootstrapMs <= TARGETS.bootstrapMs },
  }));
} finally {
  await unsealer.stop();
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
