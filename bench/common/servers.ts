// What several benches do to the testbed's servers: find a server's pid (the testbed does not
// expose OpenBao's), and rewrite raft's performance_multiplier to measure a "before".
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { OpenBaoCluster } from '@rotor/testbed';

/** The process whose command line holds `needle`. */
export function pidByCmdline(needle: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(needle)) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`no process with ${needle} in its command line`);
}

/** Restarts every node with `performance_multiplier = value` in its raft stanza (before it is initialized). */
export async function setRaftPerformanceMultiplier(cluster: OpenBaoCluster, value: number): Promise<void> {
  for (const node of cluster.nodes) {
    const file = join(dirname(node.dataDir), 'config.hcl');
    const config = readFileSync(file, 'utf8');
    if (!config.includes('storage "raft" {')) throw new Error(`${file}: no raft storage stanza`);
    await node.kill();
    const line = `performance_multiplier = ${value}`;
    writeFileSync(file, /performance_multiplier = \d+/.test(config) ? config.replace(/performance_multiplier = \d+/, line) : config.replace('storage "raft" {', `storage "raft" {\n  ${line}`));
    await node.start();
  }
}
