// `rotor unseal --once --json` and `rotor status` against a real 3-node OpenBao
// raft cluster, a running `rotor unseal` (health port, Lease election on a real
// kube-apiserver) and a configuration file: healthy, a node killed, restarted
// sealed, unsealed again, drift, the unsealer gone; colour on a terminal only.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, kubeOk, startKubeApiserver, startOpenBaoCluster, waitFor, vaultAdmin, type KubeApiserver, type OpenBaoCluster } from '@rotor/testbed';
import { FileKeyStore } from '@rotor/unsealer';
import { VaultClient } from '@rotor/vault-client';
import type { StatusReport } from '../src/status/model.ts';
import { rotor, rotorOnTty, startRotor, type Run } from './cli.ts';

const ESC = '\u001b[';

describe('rotor unseal --json and rotor status (3-node raft cluster)', { timeout: 420_000 }, () => {
  let cluster: OpenBaoCluster;
  let kube: KubeApiserver;
  let dir: string;
  let keyStore: string;
  let rootToken: string;
  let env: Record<string, string>;
  let unsealer: ReturnType<typeof startRotor> | undefined;
  let healthPort: number;

  const nodesFlag = (): string => cluster.nodes.map((n) => n.address).join(',');
  const statusJson = async (args: string[] = []): Promise<{ run: Run; report: StatusReport }> => {
    const run = await rotor(['status', '--json', ...args], { ...env, KUBECONFIG: kube.kubeconfigPath });
    assert.ok(run.stdout.trim().startsWith('{'), `status printed JSON: ${run.stdout}${run.stderr}`);
    return { run, report: JSON.parse(run.stdout) as StatusReport };
  };
  const stopUnsealer = async (): Promise<void> => {
    await unsealer?.stop();
    unsealer = undefined;
  };
  const startUnsealer = (): void => {
    unsealer = startRotor(
      ['unseal', '--nodes', nodesFlag(), '--key-store', `file:${keyStore}`, '--health-port', String(healthPort), '--k8s-lease', 'vault/vault-unsealer', '--identity', 'unsealer-test', '--resync', '500'],
      { KUBECONFIG: kube.kubeconfigPath },
    );
  };

  before(async () => {
    [cluster, kube] = await Promise.all([startOpenBaoCluster({ nodes: 3 }), startKubeApiserver()]);
    dir = mkdtempSync(join(tmpdir(), 'rotor-status-'));
    keyStore = join(dir, 'keys.json');
    healthPort = await freePort('127.0.0.1');
    await kubeOk(kube, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'vault' } });
  });
  after(async () => {
    await stopUnsealer();
    await Promise.allSettled([cluster?.stop(), kube?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('rotor unseal --once --json: one JSON result on stdout, the logs on stderr', async () => {
    const run = await rotor(['unseal', '--nodes', nodesFlag(), '--key-store', `file:${keyStore}`, '--once', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as { ok: boolean; leading: boolean; nodes: Array<{ sealed: boolean; active: boolean; initialized: boolean }> };
    assert.equal(result.ok, true);
    assert.equal(result.leading, true);
    assert.equal(result.nodes.length, 3);
    assert.ok(result.nodes.every((n) => n.initialized && !n.sealed));
    assert.equal(result.nodes.filter((n) => n.active).length, 1);
    assert.match(run.stderr, /"msg":"initialized the cluster/);
    const keys = await new FileKeyStore(keyStore).load();
    rootToken = keys?.rootToken ?? '';
    assert.ok(rootToken);
    for (const secret of [rootToken, ...(keys?.keys ?? [])]) assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), 'a secret reached the output');
    env = { VAULT_ADDR: cluster.nodes[0]?.address ?? '', VAULT_TOKEN: rootToken };
    const usage = await rotor(['unseal', '--nodes', nodesFlag(), '--key-store', `file:${keyStore}`, '--json']);
    assert.equal(usage.code, 2, 'without --once, --json is a usage error');
  });

  it('a healthy cluster: every node, the leader, all raft voters; exit 0', async () => {
    // Autopilot promotes a joined node to voter once it has been stable for a while.
    const { report } = await waitFor('all three nodes to be raft voters', async () => {
      const r = await statusJson();
      return r.run.code === 0 ? r : undefined;
    }, { timeoutMs: 90_000, intervalMs: 2_000 });
    assert.deepEqual(report.nodes.map((n) => n.id).sort(), ['node-1', 'node-2', 'node-3']);
    assert.deepEqual(report.nodes.map((n) => n.state).sort(), ['active', 'standby', 'standby']);
    assert.ok(report.nodes.every((n) => n.raft?.voter === true));
    const active = report.nodes.find((n) => n.state === 'active');
    assert.equal(report.cluster.leader, active?.id);
    assert.equal(report.nodes.find((n) => n.raft?.leader)?.id, active?.id);
    assert.equal(report.cluster.raftRead, true);
    assert.deepEqual(report.problems, []);
    const text = await rotor(['status'], env);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /node-1\s+http:\/\/127\.0\.0\.2:\d+\s+(active|standby)\s+(leader|follower), voter/);
    assert.match(text.stdout, /OK: nothing needs attention/);
    assert.ok(!text.stdout.includes(ESC), 'no colour when stdout is not a terminal');
  });

  it('colour on a terminal, none with NO_COLOR', async () => {
    const tty = await rotorOnTty(['status'], env);
    assert.equal(tty.code, 0, tty.stdout);
    assert.ok(tty.stdout.includes(`${ESC}32m`), 'green on a terminal');
    const noColor = await rotorOnTty(['status'], { ...env, NO_COLOR: '1' });
    assert.equal(noColor.code, 0);
    assert.ok(!noColor.stdout.includes(ESC), 'NO_COLOR is respected');
    assert.match(noColor.stdout, /OK: nothing needs attention/);
  });

  it('the unsealer: health port, leadership and its Lease; exit 7 once it is gone', async () => {
    startUnsealer();
    await waitFor('the unsealer to lead', async () => {
      const { report } = await statusJson(['--unsealer-url', `http://127.0.0.1:${healthPort}`, '--k8s-lease', 'vault/vault-unsealer']);
      return report.unsealer?.leading === true && report.unsealer.lease?.holder === 'unsealer-test' ? report : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 }).then((report) => {
      assert.equal(report.unsealer?.healthy, true);
      assert.equal(report.unsealer?.state, 'running');
      assert.equal(report.unsealer?.lease?.expired, false);
      assert.equal(report.unsealer?.paused, undefined, 'no pause switch reported: shown as unknown');
      assert.deepEqual(report.problems, []);
    }, (err: unknown) => {
      throw new Error(`${String(err)}\n${unsealer?.output().slice(-2000) ?? ''}`);
    });
    const text = await rotor(['status', '--unsealer-url', `http://127.0.0.1:${healthPort}`, '--k8s-lease', 'vault/vault-unsealer'], { ...env, KUBECONFIG: kube.kubeconfigPath });
    assert.match(text.stdout, /Unsealer {2}http:\/\/127\.0\.0\.1:\d+ {2}running; leading; lease vault\/vault-unsealer held by unsealer-test, renewed \d+ s ago; pause: unknown/);
  });

  it('a killed standby: unreachable; restarted: sealed; the running unsealer unseals it', async () => {
    await stopUnsealer();
    const { report: before } = await statusJson();
    const victim = cluster.nodes.find((n) => before.nodes.find((r) => r.id === n.id)?.state === 'standby');
    assert.ok(victim, 'a standby to kill');
    await victim.kill();

    const down = await statusJson(['--nodes', nodesFlag()]);
    assert.equal(down.run.code, 7, down.run.stderr);
    assert.equal(down.report.nodes.find((n) => n.id === victim.id)?.state, 'unreachable');
    assert.ok(down.report.problems.some((p) => p.startsWith(`${victim.id} is unreachable`)), down.report.problems.join('; '));

    await victim.start();
    const sealed = await statusJson(['--nodes', nodesFlag()]);
    assert.equal(sealed.run.code, 7);
    const line = sealed.report.nodes.find((n) => n.id === victim.id);
    assert.deepEqual([line?.state, line?.unsealProgress], ['sealed', '0/3']);
    // Without --nodes a sealed node sends no heartbeat: raft still lists it, with no address to ask.
    // The active node remembers the address of the heartbeat from before the kill for a while, so
    // until that entry ages out status asks that address and reports 'sealed'; never a healthy node.
    const seen = new Set<string>();
    await waitFor('the sealed node to drop out of sys/ha-status', async () => {
      const raftOnly = await statusJson();
      const state = raftOnly.report.nodes.find((n) => n.id === victim.id)?.state ?? 'missing';
      seen.add(`exit ${raftOnly.run.code}: ${state}`);
      return state === 'unknown' ? true : undefined;
    }, { timeoutMs: 90_000, intervalMs: 1000 });
    assert.deepEqual([...seen].filter((s) => s !== 'exit 7: sealed' && s !== 'exit 7: unknown'), [], `seen: ${[...seen].join('; ')}`);

    startUnsealer();
    await waitFor('the restarted node to be unsealed and healthy', async () => ((await rotor(['status', '--nodes', nodesFlag()], env)).code === 0 ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
    await stopUnsealer();
    const gone = await statusJson(['--unsealer-url', `http://127.0.0.1:${healthPort}`, '--k8s-lease', 'vault/vault-unsealer']);
    assert.equal(gone.run.code, 7);
    assert.equal(gone.report.unsealer?.reachable, false);
    assert.equal(gone.report.unsealer?.lease?.expired, true, 'a stopped unsealer releases its Lease');
    assert.ok(gone.report.problems.some((p) => /unsealer .* unreachable/.test(p)));
    assert.ok(gone.report.problems.some((p) => /no unsealer holds the Lease vault\/vault-unsealer/.test(p)));
  });

  it('drift from the configuration file: in sync after apply, drift after a change behind its back', async () => {
    const file = join(dir, 'vault.yaml');
    writeFileSync(file, 'policies:\n  - name: reader\n    rules: |\n      path "secret/data/reader" { capabilities = ["read"] }\n');
    const apply = await rotor(['configure', 'apply', '-c', file], env);
    assert.equal(apply.code, 0, apply.stderr);
    const inSync = await statusJson(['--config', file]);
    assert.equal(inSync.run.code, 0, JSON.stringify(inSync.report.problems));
    assert.deepEqual([inSync.report.drift?.checked, inSync.report.drift?.inSync], [true, true]);

    await vaultAdmin.writePolicy(new VaultClient({ address: env.VAULT_ADDR ?? '', token: rootToken }), 'reader', 'path "secret/data/*" { capabilities = ["read", "list"] }');
    const drifted = await statusJson(['--config', file]);
    assert.equal(drifted.run.code, 7);
    assert.deepEqual(drifted.report.drift?.changes, [{ op: 'update', id: 'sys/policies/acl/reader' }]);
    assert.ok(drifted.report.problems.some((p) => p.includes(`rotor configure plan -c ${file}`)));
  });

  it('usage errors and an unreachable address', async () => {
    assert.equal((await rotor(['status'], {})).code, 2, 'no address, no nodes');
    const nowhere = await rotor(['status', '--json', '--address', 'http://127.0.0.1:9'], {});
    assert.equal(nowhere.code, 7);
    assert.equal((JSON.parse(nowhere.stdout) as StatusReport).nodes[0]?.state, 'unreachable');
  });
});
