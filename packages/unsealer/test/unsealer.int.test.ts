// A real 3-node OpenBao raft cluster, formed and kept unsealed by two unsealer
// instances sharing one lock: only one acts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOpenBaoCluster, waitFor, type OpenBaoCluster } from '@rotor/testbed';
import { FileKeyStore, FileLockElection, StaticDiscovery, Unsealer, type UnsealKeys } from '../src/index.ts';
import { activeNode, assertNoSecrets, captureLog, counterValue, sealStatus, waitForHealthyCluster, type CapturedLog } from './cluster-helpers.ts';

describe('unsealer on a 3-node raft cluster', { timeout: 300_000 }, () => {
  let cluster: OpenBaoCluster;
  let dir: string;
  const instances: { unsealer: Unsealer; log: CapturedLog }[] = [];
  let keys: UnsealKeys;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rotor-unsealer-'));
    cluster = await startOpenBaoCluster({ nodes: 3 });
    for (const identity of ['unsealer-a', 'unsealer-b']) {
      const log = captureLog();
      const unsealer = new Unsealer({
        discovery: new StaticDiscovery(cluster.nodes.map((n) => n.address)),
        keyStore: new FileKeyStore(join(dir, 'keys.json')),
        election: new FileLockElection(join(dir, 'unsealer.lock'), { identity }),
        logger: log.logger,
      });
      instances.push({ unsealer, log });
    }
  });

  after(async () => {
    for (const { unsealer } of instances) if (unsealer.state === 'running' || unsealer.state === 'halted') await unsealer.stop();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('from scratch: initializes once, joins and unseals all; one leader; only one instance acts', async () => {
    for (const { unsealer } of instances) unsealer.start();
    const stored = await waitFor('keys in the store', () => new FileKeyStore(join(dir, 'keys.json')).load(), { timeoutMs: 60_000 });
    keys = stored;
    assert.equal(keys.shares, 5);
    assert.equal(keys.threshold, 3);
    assert.ok(keys.rootToken, 'policy "keep" stores the root token');
    assert.equal(statSync(join(dir, 'keys.json')).mode & 0o777, 0o600);
    await waitForHealthyCluster(cluster, keys.rootToken);

    const inits = await Promise.all(instances.map((i) => counterValue(i.unsealer.registry, 'rotor_unsealer_actions_total', { action: 'initialize' })));
    const acted = await Promise.all(instances.map((i) => counterValue(i.unsealer.registry, 'rotor_unsealer_actions_total')));
    assert.deepEqual(inits.sort(), [0, 1], 'exactly one initialization, by one instance');
    assert.equal(acted.filter((n) => n > 0).length, 1, 'only one instance acted');
  });

  it('restarts a follower, then the leader: both unsealed again, cluster healthy', async () => {
    assert.ok(keys?.rootToken);
    const unsealsMeasured = async (u: Unsealer): Promise<number> => {
      const histogram = (await u.registry.getMetricsAsJSON()).find((m) => m.name === 'rotor_unsealer_unseal_seconds')?.values ?? [];
      return histogram.find((v) => (v as { metricName?: string }).metricName === 'rotor_unsealer_unseal_seconds_count')?.value ?? 0;
    };
    const before = await Promise.all(instances.map((i) => unsealsMeasured(i.unsealer)));
    const leader = await activeNode(cluster);
    const follower = cluster.nodes.find((n) => n !== leader);
    assert.ok(follower);
    for (const node of [follower, leader]) {
      await node.kill();
      await node.start();
      await waitFor(`${node.id} unsealed after restart`, async () => ((await sealStatus(node.address)).sealed ? undefined : true), {
        timeoutMs: 60_000,
        intervalMs: 100,
      });
      await waitForHealthyCluster(cluster, keys.rootToken);
    }
    // The acting instance measured both restarts ("reachable and sealed" -> "unsealed"); its gauges show all unsealed.
    const acting = [];
    for (const i of instances) if ((await counterValue(i.unsealer.registry, 'rotor_unsealer_actions_total', { action: 'unseal' })) > 0) acting.push(i);
    assert.equal(acting.length, 1, 'one instance unsealed the restarted nodes');
    const actor = acting[0]!;
    const measured = (await unsealsMeasured(actor.unsealer)) - (before[instances.indexOf(actor)] ?? 0);
    assert.ok(measured >= 2, `unseal latency observed for both restarts (${measured})`);
    const metrics = await actor.unsealer.registry.getMetricsAsJSON();
    assert.deepEqual(metrics.find((m) => m.name === 'rotor_unsealer_node_sealed')?.values.map((v) => v.value), [0, 0, 0]);
  });

  it('stops cleanly and never logs a key or the root token', async () => {
    for (const { unsealer } of instances) await unsealer.stop();
    for (const { unsealer } of instances) assert.equal(unsealer.state, 'stopped');
    await assert.rejects(instances[0]!.unsealer.stop(), { code: 'UNSEALER_ILLEGAL_STATE' });
    for (const { log } of instances) assertNoSecrets(log.text(), keys);
  });
});
