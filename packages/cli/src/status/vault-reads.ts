// The Vault reads of `rotor status`: each node's own view (no token), and the
// cluster's HA and raft view (token). One attempt each, short timeouts: status
// reports what is, it does not wait for things to get better.
import { z } from 'zod';
import { VaultClient, VaultErrorCode, classifyVaultFailure, errorMessage, isVaultError } from '@rotor/vault-client';
import type { HaNode, NodeObservation, RaftPeer } from './model.ts';

const NODE_TIMEOUT_MS = 5_000;

/** "network" or "timeout" for a node that did not answer; the message otherwise (a refused certificate says which host and why). */
function reason(err: unknown): string {
  if (classifyVaultFailure(err) === 'unreachable' && isVaultError(err)) {
    if (err.code === VaultErrorCode.NETWORK) return 'network';
    if (err.code === VaultErrorCode.TIMEOUT) return 'timeout';
  }
  return errorMessage(err);
}

/** sys/seal-status, then sys/health for an unsealed node. */
export async function observeNode(address: string, caCert: string | undefined): Promise<NodeObservation> {
  const client = new VaultClient({ address, caCert, timeoutMs: NODE_TIMEOUT_MS, retry: { attempts: 1 } });
  try {
    const seal = await client.sys.sealStatus();
    const observation: NodeObservation = {
      address,
      reachable: true,
      initialized: seal.initialized,
      sealed: seal.sealed,
      progress: seal.progress,
      threshold: seal.t,
      version: seal.version,
      ...(seal.clusterName ? { clusterName: seal.clusterName } : {}),
      ...(seal.clusterId ? { clusterId: seal.clusterId } : {}),
    };
    if (seal.sealed || !seal.initialized) return observation;
    const health = await client.sys.health();
    return { ...observation, active: health.status === 200 };
  } catch (err) {
    return { address, reachable: false, error: reason(err) };
  }
}

const haStatusSchema = z.object({
  nodes: z
    .array(
      z.object({
        hostname: z.string().optional(),
        api_address: z.string(),
        cluster_address: z.string().optional(),
        active_node: z.boolean().optional(),
        version: z.string().optional(),
      }),
    )
    .nullish(),
});

/** sys/ha-status: the unsealed nodes with their API addresses (needs a token). */
export async function readHaStatus(client: VaultClient): Promise<HaNode[]> {
  const answer = await client.request('GET', 'sys/ha-status', { schema: haStatusSchema });
  return (answer?.nodes ?? [])
    .filter((n) => n.api_address !== '')
    .map((n) => ({
      apiAddress: n.api_address,
      activeNode: n.active_node === true,
      ...(n.hostname ? { hostname: n.hostname } : {}),
      ...(n.cluster_address ? { clusterAddress: n.cluster_address } : {}),
      ...(n.version ? { version: n.version } : {}),
    }));
}

export async function readRaftPeers(client: VaultClient): Promise<RaftPeer[]> {
  return (await client.sys.raftConfiguration()).servers.map((s) => ({ nodeId: s.nodeId, address: s.address, leader: s.leader, voter: s.voter }));
}
