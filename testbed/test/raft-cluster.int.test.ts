// A 3-node raft cluster, formed by hand over HTTP the way the unsealer will do it:
// initialize one node, unseal it, join the others to it, unseal them.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startOpenBaoCluster, waitFor, type OpenBaoCluster } from '../src/index.ts';
import { vault, vaultOk } from './vault-http.ts';

interface InitResponse {
  keys_base64: string[];
  root_token: string;
}
interface SealStatus {
  initialized: boolean;
  sealed: boolean;
}
interface RaftConfiguration {
  data: { config: { servers: { node_id: string; leader: boolean; voter: boolean }[] } };
}

/**
 * Submits keys until the threshold is met. A node that is joining raft may
 * answer "sealed" to the last key while it fetches the leader's data, so the
 * end of unsealing is observed on seal-status.
 */
async function unseal(address: string, keys: string[]): Promise<void> {
  for (const key of keys) {
    const status = await vaultOk<SealStatus & { progress: number }>(address, undefined, 'PUT', 'sys/unseal', { key });
    if (!status.sealed) return;
  }
  await waitFor(
    `${address} to unseal`,
    async () => ((await vaultOk<SealStatus>(address, undefined, 'GET', 'sys/seal-status')).sealed ? undefined : true),
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

describe('raft cluster from the testbed', { timeout: 180_000 }, () => {
  let cluster: OpenBaoCluster;
  before(async () => {
    cluster = await startOpenBaoCluster({ nodes: 3 });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('starts three uninitialized, sealed nodes on distinct loopback addresses', async () => {
    assert.deepEqual(
      cluster.nodes.map((n) => n.host),
      ['127.0.0.2', '127.0.0.3', '127.0.0.4'],
    );
    for (const node of cluster.nodes) {
      const status = await vaultOk<SealStatus>(node.address, undefined, 'GET', 'sys/seal-status');
      assert.deepEqual({ initialized: status.initialized, sealed: status.sealed }, { initialized: false, sealed: true });
    }
  });

  it('initializes one node, joins and unseals the others: 3 peers, exactly one leader', async () => {
    const [first, ...rest] = cluster.nodes;
    assert.ok(first);
    const init = await vaultOk<InitResponse>(first.address, undefined, 'PUT', 'sys/init', {
      secret_shares: 5,
      secret_threshold: 3,
    });
    assert.equal(init.keys_base64.length, 5);
    const keys = init.keys_base64.slice(0, 3);
    await unseal(first.address, keys);
    await waitFor(
      'node-1 to become active',
      async () => ((await vault(first.address, undefined, 'GET', 'sys/health')).status === 200 ? true : undefined),
      { timeoutMs: 30_000 },
    );

    for (const node of rest) {
      const result: { joined: boolean } = await vaultOk(node.address, undefined, 'POST', 'sys/storage/raft/join', {
        leader_api_addr: first.address,
      });
      assert.equal(result.joined, true);
      // A joining node needs its unseal keys to decrypt the leader's challenge.
      await unseal(node.address, keys);
    }

    const servers = await waitFor(
      'three voters in the raft configuration',
      async () => {
        const cfg = await vaultOk<RaftConfiguration>(first.address, init.root_token, 'GET', 'sys/storage/raft/configuration');
        const list = cfg.data.config.servers;
        return list.length === 3 && list.every((s) => s.voter) ? list : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    assert.deepEqual(servers.map((s) => s.node_id).sort(), ['node-1', 'node-2', 'node-3']);
    assert.equal(servers.filter((s) => s.leader).length, 1);

    for (const node of rest) {
      await waitFor(
        `${node.id} to serve as an unsealed standby`,
        async () => {
          const { status } = await vault(node.address, undefined, 'GET', 'sys/health');
          return status === 429 ? true : undefined; // 429 = unsealed standby
        },
        { timeoutMs: 30_000 },
      );
    }
  });
});
