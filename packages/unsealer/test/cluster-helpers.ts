// Shared by the integration tests: captured logs, secret scans, cluster checks.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { VaultClient } from '@rotor/vault-client';
import { SecretSet, assertNoSecretsInLogs, waitFor, type OpenBaoCluster } from '@rotor/testbed';
import type { UnsealKeys } from '../src/index.ts';

export interface CapturedLog {
  logger: Logger;
  text(): string;
}

/** A debug-level pino logger writing into memory, to be scanned for secrets. */
export function captureLog(): CapturedLog {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), text: () => chunks.join('') };
}

/**
 * No unseal key share (base64 or hex), no root token and no envelope key (base64,
 * base64url or hex) in the text, which must not be empty (testbed's shared scan).
 */
export function assertNoSecrets(text: string, keys: UnsealKeys, extra: { envelopeKey?: Buffer } = {}): void {
  const secrets = new SecretSet();
  for (const key of keys.keys) secrets.addKey('unseal key', key);
  secrets.add('root token', keys.rootToken);
  if (extra.envelopeKey) secrets.addBytes('envelope key', extra.envelopeKey);
  assertNoSecretsInLogs([{ name: 'unsealer log', text }], secrets);
}

const client = (address: string, token?: string): VaultClient =>
  new VaultClient({ address, timeoutMs: 5_000, retry: { attempts: 1 }, ...(token ? { token } : {}) });

/** Waits until every node is unsealed, exactly one is active, and raft lists all as voters. */
export async function waitForHealthyCluster(cluster: OpenBaoCluster, rootToken: string, timeoutMs = 90_000): Promise<void> {
  await waitFor(
    'all nodes unsealed with exactly one active node',
    async () => {
      const health = await Promise.all(cluster.nodes.map((n) => client(n.address).sys.health()));
      const unsealed = health.every((h) => h.initialized && !h.sealed);
      const active = health.filter((h) => h.status === 200).length;
      return unsealed && active === 1 ? true : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  );
  const active = await activeNode(cluster);
  let seen: unknown;
  const servers = await waitFor(
    'all nodes as raft voters',
    async () => {
      const { servers } = await client(active.address, rootToken).sys.raftConfiguration();
      seen = servers;
      return servers.length === cluster.nodes.length && servers.every((s) => s.voter) ? servers : undefined;
    },
    { timeoutMs, intervalMs: 250 },
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}; raft configuration last seen on ${active.id}: ${JSON.stringify(seen)}`, { cause: err });
  });
  assert.deepEqual(servers.map((s) => s.nodeId).sort(), cluster.nodes.map((n) => n.id).sort());
  assert.equal(servers.filter((s) => s.leader).length, 1);
}

export async function activeNode(cluster: OpenBaoCluster): Promise<OpenBaoCluster['nodes'][number]> {
  return waitFor(
    'an active node',
    async () => {
      for (const node of cluster.nodes) {
        if (node.running && (await client(node.address).sys.health().catch(() => undefined))?.status === 200) return node;
      }
      return undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

export async function sealStatus(address: string): Promise<{ initialized: boolean; sealed: boolean }> {
  return client(address).sys.sealStatus();
}

/** Sum of a counter's samples whose labels match. */
export async function counterValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((sum, v) => sum + v.value, 0);
}
