// The unsealer's safety rules on real raft clusters: keys are stored before
// anything else, never re-initialized, and foreign keys stop it instead of looping.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOpenBaoCluster, waitFor, type OpenBaoCluster } from '@rotor/testbed';
import { FileKeyStore, StaticDiscovery, Unsealer, type KeyStore, type UnsealKeys, type UnsealerOptions } from '../src/index.ts';
import { assertNoSecrets, captureLog, counterValue, sealStatus, waitForHealthyCluster, type CapturedLog } from './cluster-helpers.ts';

describe('unsealer safety', { timeout: 400_000 }, () => {
  let dir: string;
  let first: OpenBaoCluster; // store failure, later the source of foreign keys
  let second: OpenBaoCluster; // interrupted after init, later given the foreign keys
  const running: Unsealer[] = [];
  const logs: CapturedLog[] = [];
  const allKeys: UnsealKeys[] = [];

  const unsealerFor = (cluster: OpenBaoCluster, keyStore: KeyStore, extra: Partial<UnsealerOptions> = {}): Unsealer => {
    const log = captureLog();
    logs.push(log);
    const unsealer = new Unsealer({
      discovery: new StaticDiscovery(cluster.nodes.map((n) => n.address)),
      keyStore,
      logger: log.logger,
      ...extra,
    });
    running.push(unsealer);
    return unsealer;
  };
  const stopAll = async (): Promise<void> => {
    for (const u of running.splice(0)) if (u.state === 'running' || u.state === 'halted') await u.stop();
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rotor-unsealer-safety-'));
    [first, second] = await Promise.all([startOpenBaoCluster({ nodes: 3 }), startOpenBaoCluster({ nodes: 3 })]);
  });

  // A failed test skips its own stopAll(): its unsealer must not act on the next test's cluster.
  afterEach(stopAll);
  after(async () => {
    await stopAll();
    await Promise.all([first?.stop(), second?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('key store write fails after init: keys stay in memory, nothing else happens until they are stored', async () => {
    // A real filesystem condition: the store's directory does not exist yet.
    const storeDir = join(dir, 'first-not-yet');
    const store = new FileKeyStore(join(storeDir, 'keys.json'));
    const unsealer = unsealerFor(first, store, { timing: { persistRetry: { baseDelayMs: 100, maxDelayMs: 400 } } });
    unsealer.start();
    await waitFor(
      'three failed attempts to store the keys',
      async () => ((await counterValue(unsealer.registry, 'rotor_unsealer_actions_total', { action: 'persist-keys', outcome: 'failed' })) >= 3 ? true : undefined),
      { timeoutMs: 90_000 },
    );
    const states = await Promise.all(first.nodes.map((n) => sealStatus(n.address)));
    assert.deepEqual(
      states.map((s) => ({ initialized: s.initialized, sealed: s.sealed })),
      [
        { initialized: true, sealed: true },
        { initialized: false, sealed: true },
        { initialized: false, sealed: true },
      ],
      'initialized once, then no unseal and no join while the keys are unstored',
    );
    for (const action of ['unseal', 'join']) {
      assert.equal(await counterValue(unsealer.registry, 'rotor_unsealer_actions_total', { action }), 0, `${action} while keys unstored`);
    }

    mkdirSync(storeDir);
    const keys = await waitFor('keys stored once the directory exists', () => store.load(), { timeoutMs: 30_000 });
    allKeys.push(keys);
    assert.ok(keys.rootToken);
    await waitForHealthyCluster(first, keys.rootToken);
    assert.equal(await counterValue(unsealer.registry, 'rotor_unsealer_actions_total', { action: 'initialize' }), 1);
    await stopAll();
  });

  it('unsealer stopped right after storing the keys, before any unseal: a restart finishes without re-init', async () => {
    const path = join(dir, 'second-keys.json');
    const files = new FileKeyStore(path);
    let interrupted: Unsealer | undefined = undefined;
    // The interruption point: the moment the keys are stored.
    const interrupting: KeyStore = {
      description: files.description,
      load: () => files.load(),
      async save(keys) {
        await files.save(keys);
        void interrupted?.stop();
      },
    };
    interrupted = unsealerFor(second, interrupting);
    interrupted.start();
    await interrupted.done();
    assert.equal(interrupted.state, 'stopped');
    const keys = await files.load();
    assert.ok(keys?.rootToken);
    allKeys.push(keys);
    const states = await Promise.all(second.nodes.map((n) => sealStatus(n.address)));
    assert.deepEqual(
      states.map((s) => s.initialized && s.sealed),
      [true, false, false],
      'only node-1 initialized, still sealed',
    );

    const restarted = unsealerFor(second, files);
    restarted.start();
    await waitForHealthyCluster(second, keys.rootToken);
    assert.equal(await counterValue(restarted.registry, 'rotor_unsealer_actions_total', { action: 'initialize' }), 0, 'no re-init');
    assert.deepEqual((await files.load())?.keys, keys.keys, 'stored keys unchanged');
    await stopAll();
  });

  it("another cluster's keys in the store: stops with a clear error after one rejection, no loop", async () => {
    const [foreign, own] = allKeys;
    assert.ok(foreign && own);
    const node = second.nodes[1];
    assert.ok(node);
    await node.kill();
    await node.start();
    const restarted = await sealStatus(node.address);
    assert.deepEqual([restarted.initialized, restarted.sealed], [true, true], 'a member of the cluster, sealed');

    const foreignPath = join(dir, 'foreign-keys.json');
    await new FileKeyStore(foreignPath).save(foreign);
    const unsealer = unsealerFor(second, new FileKeyStore(foreignPath));
    unsealer.start();
    const alarm = await unsealer.done();
    assert.equal(unsealer.state, 'halted');
    assert.equal(alarm?.code, 'UNSEALER_WRONG_KEYS');
    assert.equal(alarm?.node, node.address);
    assert.match(alarm?.message ?? '', /another cluster/);
    assert.equal(unsealer.health().healthy, false);
    assert.equal(await counterValue(unsealer.registry, 'rotor_unsealer_actions_total', { action: 'unseal' }), 1, 'one attempt, no loop');
    assert.equal((await sealStatus(node.address)).sealed, true);
    await stopAll();
  });

  it('never logs a key or a root token', () => {
    assert.equal(allKeys.length, 2);
    for (const log of logs) for (const keys of allKeys) assertNoSecrets(log.text(), keys);
  });
});
