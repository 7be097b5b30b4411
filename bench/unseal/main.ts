// Benchmark of the unsealer on a real 3-node OpenBao raft cluster:
//  - bootstrap: from three fresh nodes to all initialized, joined, unsealed, one active;
//  - restart: from a node's restart (its listener up again) to that node unsealed,
//    over RESTARTS restarts taken round-robin (followers and leaders alike).
// Prints readable lines, then one JSON line with every figure.
//   node --import tsx --conditions=rotor-source bench/unseal/main.ts
import { performance } from 'node:perf_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOpenBaoCluster, waitFor, type OpenBaoCluster } from '@rotor/testbed';
import { VaultClient } from '@rotor/vault-client';
import { FileKeyStore, StaticDiscovery, Unsealer } from '@rotor/unsealer';

const RESTARTS = 10;
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
  const bootStart = performance.now();
  unsealer.start();
  await healthy(cluster);
  const bootstrapMs = performance.now() - bootStart;
  console.log(`bootstrap of a fresh 3-node cluster: ${bootstrapMs.toFixed(0)} ms`);

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
    restarts: samples.length,
    restartToUnsealedMs: { median: Math.round(median), p95: Math.round(p95), samples: samples.map(Math.round) },
    bootstrapMs: Math.round(bootstrapMs),
    targets: TARGETS,
    met: { restartMedian: median <= TARGETS.restartMedianMs, bootstrap: bootstrapMs <= TARGETS.bootstrapMs },
  }));
} finally {
  await unsealer.stop();
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
