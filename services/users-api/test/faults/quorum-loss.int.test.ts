// Fault matrix (issue 13), scenario 5: quorum loss with the unsealer paused.
// Two of three raft nodes are lost for good (SIGKILL, data wiped, kept down):
// the survivor cannot elect a leader. The operator follows the runbook in
// docs/operations.md ("Quorum loss: peers.json recovery"): pause the unsealer
// (`rotor unseal pause`, its ConfigMap switch on a real kube-apiserver), write
// raft/peers.json on the survivor, restart it, unseal it by hand
// (`rotor unseal --once` on that node), check the data, bring the lost nodes
// back empty, resume the unsealer, which joins and unseals them: three voters
// again, the same cluster id, every KV write intact. While paused the unsealer
// made no init, join or unseal (its counters), it never re-initialized, and
// users-api (credentials still valid) failed no request throughout.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor, vaultAdmin } from '@rotor/testbed';
import { VaultClient } from '@rotor/vault-client';
import { HttpLoad } from './load.ts';
import { FaultStack, health, type UsersApiProcess } from './stack.ts';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const RUNBOOK = join(REPO, 'docs/operations.md');

/** The runbook's `# recovery: NAME` blocks, in order (the cluster walkthrough runs only `# step:` blocks). */
export function recoverySteps(markdown: string): { name: string; script: string }[] {
  const steps: { name: string; script: string }[] = [];
  for (const m of markdown.matchAll(/^\s*```sh\n([\s\S]*?)^\s*```$/gm)) {
    const lines = (m[1] ?? '').split('\n').map((l) => l.trim());
    const name = /^# recovery: ([a-z0-9-]+)$/.exec(lines[0] ?? '')?.[1];
    if (name) steps.push({ name, script: lines.slice(1).join('\n') });
  }
  return steps;
}

/** The `rotor ...` command line of a runbook step (after `npx` or the unsealer pod's exec), as words. */
function rotorLine(script: string, match: RegExp): string[] {
  const line = script.split('\n').find((l) => match.test(l));
  assert.ok(line, `the runbook step has a line matching ${String(match)}`);
  const words = line.split(/\s+/);
  const at = words.findIndex((w) => w === 'rotor' || w.endsWith('/main.js'));
  assert.ok(at >= 0, `a rotor command in: ${line}`);
  return words.slice(at + 1);
}

function rotor(args: string[], env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(REPO, 'packages/cli/bin/rotor.js'), ...args], { cwd: REPO, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/', ...env }, timeout: 180_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, output: stdout + stderr });
    });
  });
}

describe('fault matrix: quorum loss with the unsealer paused (scenario 5)', { timeout: 600_000 }, () => {
  let stack: FaultStack;
  let api: UsersApiProcess;

  before(async () => {
    stack = await FaultStack.start({ pauseSwitch: true });
    await vaultAdmin.enableMount(await stack.root(), 'faults', { type: 'kv' });
    api = await stack.startUsersApi('users-api');
  });
  after(async () => {
    await stack?.stop();
  });

  it('5: peers.json recovery on the survivor; the paused unsealer does not fight it; data intact, 3 voters, 0 re-inits, 0 failed requests', async () => {
    const steps = recoverySteps(readFileSync(RUNBOOK, 'utf8'));
    const step = (name: string): string => {
      const found = steps.find((s) => s.name === name);
      assert.ok(found, `docs/operations.md has the recovery step "${name}"`);
      return found.script;
    };
    assert.deepEqual(
      steps.map((s) => s.name),
      ['pause', 'remove-lost', 'peers-json', 'restart-survivor', 'unseal-survivor', 'check-data', 'rejoin', 'resume'],
      'the runbook steps this test follows, in order',
    );
    const kubeEnv = { KUBECONFIG: stack.kube?.kubeconfigPath ?? '' };
    const outputs: string[] = [];
    const actions = async (): Promise<number> => {
      let n = 0;
      for (const a of ['initialize', 'join', 'unseal']) n += await stack.unsealerActions(a);
      return n;
    };
    const pausedPasses = async (): Promise<number> => {
      const metric = (await stack.unsealer.registry.getMetricsAsJSON()).find((m) => m.name === 'rotor_unsealer_passes_total');
      return ((metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[]).filter((v) => v.labels.result === 'paused').reduce((s, v) => s + v.value, 0);
    };
    /** The paused unsealer has seen the nodes as they are now in two more passes (it would have acted by then). */
    const observedWhilePaused = async (what: string): Promise<void> => {
      const from = await pausedPasses();
      await waitFor(`the paused unsealer to pass over ${what} twice`, async () => ((await pausedPasses()) >= from + 2 ? true : undefined), { timeoutMs: 30_000, intervalMs: 100 });
    };

    // Data that must survive: KV writes acknowledged before the loss.
    const root = await stack.root();
    const written = new Map<string, string>();
    for (let i = 0; i < 50; i++) {
      await root.request('PUT', `faults/quorum-${i}`, { body: { value: `v${i}` } });
      written.set(`faults/quorum-${i}`, `v${i}`);
    }
    const load = new HttpLoad(api.url);
    const t: Record<string, number> = {};
    let actionsWhenPaused: number;
    const leader = await stack.activeNode();
    const survivor = stack.cluster.nodes.find((n) => n !== leader);
    assert.ok(survivor);
    const lost = stack.cluster.nodes.filter((n) => n !== survivor);
    try {
      await waitFor('load running', () => Promise.resolve(load.ok > 50 ? true : undefined), { timeoutMs: 30_000 });
      // The loss: the leader and the other follower crash and their disks are gone.
      const lostAt = performance.now();
      for (const node of lost) {
        await node.kill();
        rmSync(node.dataDir, { recursive: true, force: true });
        mkdirSync(node.dataDir);
      }
      const noQuorum = new VaultClient({ address: survivor.address, token: stack.keys.rootToken ?? '', timeoutMs: 3_000, retry: { attempts: 1 } });
      await assert.rejects(noQuorum.request('PUT', 'faults/after-loss', { body: { value: 'x' } }), 'no write without quorum');

      // pause
      const pause = await rotor(rotorLine(step('pause'), /rotor unseal pause/), kubeEnv);
      outputs.push(pause.output);
      assert.equal(pause.code, 0, pause.output);
      await waitFor('the unsealer paused', () => Promise.resolve(stack.unsealer.paused ? true : undefined), { timeoutMs: 5_000, intervalMs: 20 });
      actionsWhenPaused = await actions();
      // remove-lost: on Kubernetes their pods and volumes are deleted; here they stay down (killed, wiped above).
      assert.match(step('remove-lost'), /kubectl -n vault delete pvc/);

      // peers-json: the survivor alone, the runbook's JSON with its node id and raft (cluster) address,
      // into raft/ under the storage path (/openbao/data on the pods, the node's data dir here).
      const peersStep = step('peers-json');
      assert.match(peersStep, /> \/openbao\/data\/raft\/peers\.json/);
      const template = peersStep.split('\n').find((l) => l.startsWith('[{'));
      assert.ok(template, 'the peers.json content in the runbook');
      const peersJson = template
        .replaceAll('$SURVIVOR.vault-internal.vault.svc:8201', survivor.clusterAddress.replace(/^https:\/\//, ''))
        .replaceAll('$SURVIVOR', survivor.id);
      assert.deepEqual(JSON.parse(peersJson), [{ id: survivor.id, address: `${survivor.host}:${survivor.clusterPort}`, non_voter: false }]);
      await survivor.stop();
      assert.ok(existsSync(join(survivor.dataDir, 'raft', 'raft.db')), 'raft/ under the storage path holds raft.db');
      writeFileSync(join(survivor.dataDir, 'raft', 'peers.json'), peersJson);

      // restart-survivor: it comes back sealed, and the paused unsealer leaves it so.
      await survivor.start();
      assert.equal((await health(survivor))?.sealed, true);
      await observedWhilePaused('the sealed survivor');
      assert.equal((await health(survivor))?.sealed, true, 'the paused unsealer did not unseal the survivor');
      assert.equal(await actions(), actionsWhenPaused, 'no init, join or unseal while paused');

      // unseal-survivor: by hand, that one node (the runbook's command, with this stack's key store and address).
      const unsealArgs = rotorLine(step('unseal-survivor'), /unseal --once/).map((w) =>
        w.startsWith('--nodes') ? `--nodes=${survivor.address}` : w.startsWith('--key-store') ? `--key-store=file:${join(stack.dir, 'keys.json')}` : w,
      ).filter((w) => !w.startsWith('--envelope-key-file'));
      const unsealed = await rotor(unsealArgs, {});
      outputs.push(unsealed.output);
      assert.equal(unsealed.code, 0, unsealed.output);
      const active = await stack.activeNode(60_000);
      t.activeMs = performance.now() - lostAt;
      assert.equal(active, survivor, 'the survivor leads alone');
      assert.ok(!existsSync(join(survivor.dataDir, 'raft', 'peers.json')), 'OpenBao consumed peers.json');

      // check-data: every write from before the loss, and writes work again.
      assert.match(step('check-data'), /list-peers/);
      const client = await stack.root();
      const missing: string[] = [];
      for (const [path, value] of written) if ((await client.request<{ data: { value: string } }>('GET', path))?.data.value !== value) missing.push(path);
      assert.deepEqual(missing, [], 'KV data lost in the recovery');
      const { servers } = await client.sys.raftConfiguration();
      assert.deepEqual(servers.map((s) => [s.nodeId, s.voter, s.leader]), [[survivor.id, true, true]]);
      await client.request('PUT', 'faults/after-recovery', { body: { value: 'y' } });

      // rejoin: the lost nodes come back empty; still paused, nothing joins them.
      for (const node of lost) await node.start();
      for (const node of lost) assert.equal((await health(node))?.initialized, false);
      await observedWhilePaused('the empty nodes');
      for (const node of lost) assert.equal((await health(node))?.initialized, false, `the paused unsealer did not join ${node.id}`);
      assert.equal(await actions(), actionsWhenPaused, 'no init, join or unseal while paused');

      // resume: the unsealer joins and unseals them; three voters again.
      const resumedAt = performance.now();
      const resume = await rotor(rotorLine(step('resume'), /rotor unseal resume/), kubeEnv);
      outputs.push(resume.output);
      assert.equal(resume.code, 0, resume.output);
      assert.equal(await stack.healthy(120_000), stack.clusterId, 'the same cluster, three voters');
      t.rejoinMs = performance.now() - resumedAt;
      t.totalMs = performance.now() - lostAt;
    } finally {
      await load.stop();
    }
    assert.equal(await stack.unsealerActions('join', 'ok'), 4, 'two joins at bootstrap, two after the resume');
    const final = await stack.root();
    for (const [path, value] of written) assert.equal((await final.request<{ data: { value: string } }>('GET', path))?.data.value, value);
    assert.equal((await final.request<{ data: { value: string } }>('GET', 'faults/after-recovery'))?.data.value, 'y');
    console.log(
      `scenario 5: ${load.records.length} requests, ${load.failures().length} failed; ${written.size} KV writes intact; ` +
        `survivor leading alone ${Math.round(t.activeMs ?? 0)} ms after the loss (pause, peers.json, restart, manual unseal); ` +
        `3 voters ${Math.round(t.rejoinMs ?? 0)} ms after the resume; ${Math.round(t.totalMs ?? 0)} ms in all; unsealer actions while paused: 0`,
    );
    assert.equal(load.failures().length, 0, `failed requests: ${load.describeFailures()}`);
    await stack.assertSameCluster();
    await api.stop();
    stack.assertNoSecretsInAnyLog([{ name: 'rotor commands of the runbook', text: outputs.join('\n') }]);
  });
});
