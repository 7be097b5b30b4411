// The sys API against a real 3-node OpenBao raft cluster: init, unseal, join,
// peers, the health of a standby, and a request sent to a standby.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { startOpenBaoCluster, waitFor, vaultAdmin } from '@rotor/testbed';
import type { OpenBaoCluster, OpenBaoNode } from '@rotor/testbed';
import { VaultClient, VaultErrorCode, isVaultError } from '../src/index.ts';
import type { InitResult } from '../src/index.ts';

/** Submits keys until unsealed; a joining node may finish unsealing only after its last key. */
async function unseal(client: VaultClient, keys: string[]): Promise<void> {
  for (const key of keys) {
    if (!(await client.sys.unseal(key)).sealed) return;
  }
  await waitFor(`${client.address} to unseal`, async () => ((await client.sys.sealStatus()).sealed ? undefined : true), {
    timeoutMs: 60_000,
    intervalMs: 200,
  });
}

function node(cluster: OpenBaoCluster, index: number): OpenBaoNode {
  const found = cluster.nodes[index];
  assert.ok(found, `node ${index}`);
  return found;
}

describe('vault-client against a 3-node raft cluster', { timeout: 240_000 }, () => {
  let cluster: OpenBaoCluster;
  let init: InitResult;

  before(async () => {
    cluster = await startOpenBaoCluster({ nodes: 3 });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('reports an uninitialized node as such: seal-status, and health 501 without throwing', async () => {
    const client = new VaultClient({ address: node(cluster, 0).address });
    const status = await client.sys.sealStatus();
    assert.equal(status.initialized, false);
    assert.equal(status.sealed, true);
    const health = await client.sys.health();
    assert.equal(health.status, 501);
    assert.equal(health.initialized, false);
  });

  it('initializes a node and hides the keys and root token from printing', async () => {
    const client = new VaultClient({ address: node(cluster, 0).address });
    init = await client.sys.init({ secretShares: 5, secretThreshold: 3 });
    assert.equal(init.keys.length, 5);
    assert.equal(init.keysBase64.length, 5);
    assert.ok(init.rootToken.length > 0);
    const shown = `${JSON.stringify(init)} ${inspect(init, { depth: 5 })}`;
    for (const secret of [init.rootToken, ...init.keys, ...init.keysBase64]) assert.ok(!shown.includes(secret));
    const status = await client.sys.sealStatus();
    assert.deepEqual([status.initialized, status.sealed, status.t, status.n], [true, true, 3, 5]);
  });

  it('maps a request to a sealed node to VAULT_SEALED after retrying it', async () => {
    const client = new VaultClient({
      address: node(cluster, 0).address,
      token: init.rootToken,
      retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 50 },
    });
    await assert.rejects(client.sys.listMounts(), (err: unknown) => {
      assert.ok(isVaultError(err));
      assert.equal(err.code, VaultErrorCode.SEALED);
      assert.equal(err.status, 503);
      assert.equal(err.attempts, 2);
      assert.ok(!err.message.includes(init.rootToken));
      return true;
    });
  });

  it('unseals with progress, resets progress, and the node becomes active', async () => {
    const client = new VaultClient({ address: node(cluster, 0).address });
    const keys = init.keysBase64.slice(0, 3);
    const first = await client.sys.unseal(keys[0] ?? '');
    assert.deepEqual([first.sealed, first.progress], [true, 1]);
    const reset = await client.sys.unsealReset();
    assert.deepEqual([reset.sealed, reset.progress], [true, 0]);
    await unseal(client, keys);
    const health = await waitFor('node-1 to become active', async () => {
      const h = await client.sys.health();
      return h.status === 200 ? h : undefined;
    }, { timeoutMs: 60_000 });
    assert.equal(health.standby, false);
    assert.equal(health.sealed, false);
  });

  it('joins the other nodes with raftJoin and lists three voters, one leader', async () => {
    const leader = node(cluster, 0);
    const keys = init.keysBase64.slice(0, 3);
    for (const follower of cluster.nodes.slice(1)) {
      const client = new VaultClient({ address: follower.address });
      assert.deepEqual(await client.sys.raftJoin({ leaderApiAddr: leader.address }), { joined: true });
      await unseal(client, keys);
    }
    const admin = new VaultClient({ address: leader.address, token: init.rootToken });
    const servers = await waitFor(
      'three voters',
      async () => {
        const { servers: list } = await admin.sys.raftConfiguration();
        return list.length === 3 && list.every((s) => s.voter) ? list : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    assert.deepEqual(servers.map((s) => s.nodeId).sort(), ['node-1', 'node-2', 'node-3']);
    assert.deepEqual(servers.filter((s) => s.leader).map((s) => s.nodeId), ['node-1']);
  });

  it('answers health of a standby with status 429 instead of throwing, and names the leader', async () => {
    const standby = new VaultClient({ address: node(cluster, 1).address });
    const health = await waitFor('node-2 to serve as a standby', async () => {
      const h = await standby.sys.health();
      return h.status === 429 ? h : undefined;
    }, { timeoutMs: 60_000 });
    assert.equal(health.standby, true);
    assert.equal(health.sealed, false);
    const leader = await standby.sys.leader();
    assert.equal(leader.haEnabled, true);
    assert.equal(leader.isSelf, false);
    assert.equal(leader.leaderAddress, node(cluster, 0).address);
  });

  it('serves a write and a read sent to a standby (redirected or forwarded to the active node)', async (t) => {
    const seen: { url: string; status: number }[] = [];
    const standby = new VaultClient({
      address: node(cluster, 2).address,
      token: init.rootToken,
      fetch: async (url, req) => {
        const res = await fetch(url, req);
        seen.push({ url, status: res.status });
        return res;
      },
    });
    await vaultAdmin.writePolicy(standby, 'via-standby', 'path "secret/*" { capabilities = ["read"] }');
    assert.match((await standby.sys.readPolicy('via-standby')) ?? '', /secret\/\*/);
    const active = new VaultClient({ address: node(cluster, 0).address, token: init.rootToken });
    assert.ok((await active.sys.listPolicies()).includes('via-standby'));
    t.diagnostic(`standby hops: ${seen.map((s) => `${s.status} ${new URL(s.url).host}`).join(', ')}`);
  });

  it('follows a standby 307 to the active node with the same method and body', async () => {
    // X-Vault-No-Request-Forwarding makes a real standby redirect instead of forwarding.
    const seen: { url: string; method: string; status: number }[] = [];
    const standby = new VaultClient({
      address: node(cluster, 1).address,
      token: init.rootToken,
      fetch: async (url, req) => {
        const headers = new Headers(req.headers);
        headers.set('X-Vault-No-Request-Forwarding', 'true');
        const res = await fetch(url, { ...req, headers });
        seen.push({ url, method: req.method ?? 'GET', status: res.status });
        return res;
      },
    });
    await vaultAdmin.writePolicy(standby, 'via-redirect', 'path "kv/*" { capabilities = ["list"] }');
    const active = new URL(node(cluster, 0).address).host;
    assert.deepEqual(
      seen.map((s) => [s.method, new URL(s.url).host, s.status]),
      [
        ['PUT', new URL(node(cluster, 1).address).host, 307],
        ['PUT', active, 204],
      ],
    );
    const admin = new VaultClient({ address: node(cluster, 0).address, token: init.rootToken });
    assert.match((await admin.sys.readPolicy('via-redirect')) ?? '', /kv\/\*/);
  });

  it('removes a stopped peer from the raft configuration', async () => {
    const admin = new VaultClient({ address: node(cluster, 0).address, token: init.rootToken });
    await node(cluster, 2).stop();
    await vaultAdmin.raftRemovePeer(admin, 'node-3');
    const { servers } = await admin.sys.raftConfiguration();
    assert.deepEqual(servers.map((s) => s.nodeId).sort(), ['node-1', 'node-2']);
  });
});
