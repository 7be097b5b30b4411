// Fault matrix (issue 13), scenario 4: the raft leader partitioned from the
// other two nodes (iptables on loopback, by the nodes' own uids), under HTTP
// load. The majority elects a new leader; a write sent to the isolated old
// leader is never acknowledged, one sent to the new leader is; after healing
// there is one cluster with one leader and three members, every node names
// the same leader, the write the old leader could not commit is nowhere, and
// users-api (valid credentials throughout) fails no request.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor, vaultAdmin } from '@rotor/testbed';
import { VaultClient } from '@rotor/vault-client';
import { HttpLoad } from './load.ts';
import { Partition } from './partition.ts';
import { FaultStack, health } from './stack.ts';

/** Unprivileged ids for the three nodes (no account needed: nothing looks them up). */
const NODE_IDS = [61001, 61002, 61003].map((id) => ({ uid: id, gid: id }));

// Needs root (iptables, per-node uids), as the testbed runs in CI: without it the test fails, it does not skip.
describe('fault matrix: leader partitioned from the others (scenario 4)', { timeout: 300_000 }, () => {
  let stack: FaultStack;
  const partition = new Partition();

  before(async () => {
    stack = await FaultStack.start({ clusterRunAs: NODE_IDS });
    await vaultAdmin.enableMount(await stack.root(), 'faults', { type: 'kv' });
  });
  after(async () => {
    await partition.heal();
    await stack?.stop();
  });

  it('4: partition, failover, heal: one leader, three members, no split brain, 0 failed requests', async () => {
    const api = await stack.startUsersApi('users-api');
    const load = new HttpLoad(api.url);
    const client = (address: string): VaultClient => new VaultClient({ address, token: stack.keys.rootToken ?? '', timeoutMs: 5_000, retry: { attempts: 1 } });
    const old = await stack.activeNode();
    const others = stack.cluster.nodes.filter((n) => n !== old);
    const timing = { failoverMs: 0, healedMs: 0, oldWrite: 'not tried' };
    try {
      await waitFor('load running', () => Promise.resolve(load.ok > 50 ? true : undefined), { timeoutMs: 30_000 });
      const cutAt = performance.now();
      await partition.cut(old, others);
      const next = await waitFor(
        'a new leader among the majority',
        async () => {
          for (const node of others) if ((await health(node))?.status === 200) return node;
          return undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      timing.failoverMs = performance.now() - cutAt;
      // The isolated node cannot commit: a write sent to it is not acknowledged (it may not even know yet).
      timing.oldWrite = await client(old.address)
        .request('PUT', 'faults/during-partition-old', { body: { value: 'old' } })
        .then(
          () => 'acknowledged' as const,
          () => 'refused' as const,
        );
      await client(next.address).request('PUT', 'faults/during-partition-new', { body: { value: 'new' } });
      await waitFor('the old leader to step down', async () => ((await health(old))?.status !== 200 ? true : undefined), { timeoutMs: 60_000, intervalMs: 100 });

      const healAt = performance.now();
      await partition.heal();
      assert.equal(await stack.healthy(), stack.clusterId, 'one cluster again');
      timing.healedMs = performance.now() - healAt;
      // Every node names the same leader; exactly one is it.
      const leaders = await waitFor(
        'all nodes to agree on the leader',
        async () => {
          const views = await Promise.all(stack.cluster.nodes.map((n) => client(n.address).sys.leader()));
          return new Set(views.map((v) => v.leaderClusterAddress)).size === 1 && views.filter((v) => v.isSelf).length === 1 ? views : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      assert.equal(leaders.filter((v) => v.isSelf).length, 1);
      const okBack = load.ok;
      await waitFor('requests after healing', () => Promise.resolve(load.ok > okBack + 50 ? true : undefined), { timeoutMs: 30_000 });
    } finally {
      await load.stop();
      await partition.heal();
    }
    const root = await stack.root();
    const servers = (await root.sys.raftConfiguration()).servers;
    assert.deepEqual(servers.map((s) => s.nodeId).sort(), ['node-1', 'node-2', 'node-3'], 'the same three members');
    assert.equal(servers.filter((s) => s.leader).length, 1, 'one leader in the peer list');
    assert.equal(timing.oldWrite, 'refused', 'the isolated leader acknowledged no write');
    const oldValue = await root.request('GET', 'faults/during-partition-old').then(
      () => 'present',
      (err: unknown) => ((err as { status?: number }).status === 404 ? 'absent' : String(err)),
    );
    assert.equal(oldValue, 'absent', 'the write the old leader could not commit is nowhere');
    assert.equal((await root.request<{ data: { value: string } }>('GET', 'faults/during-partition-new'))?.data.value, 'new', 'the majority kept its write');
    console.log(
      `scenario 4: ${load.records.length} requests, ${load.failures().length} failed; new leader ${Math.round(timing.failoverMs)} ms after the cut; ` +
        `one cluster, one leader, three members ${Math.round(timing.healedMs)} ms after healing; the isolated leader's write: ${timing.oldWrite}`,
    );
    assert.equal(load.failures().length, 0, `failed requests: ${load.describeFailures()}`);
    await stack.assertSameCluster();
    await api.stop();
    stack.assertNoSecretsInAnyLog();
  });
});
