// Issue 12, "Backups": the raft snapshot CronJob's script (deploy/vault/snapshot.yaml, run as
// written with the real `bao` against the real 3-node raft cluster) under the raft-snapshot
// policy of deploy/vault/config.yaml (applied by `rotor configure apply`): it saves, keeps the
// newest RETAIN, and can do nothing else. Then the restore drill of docs/operations.md:
// snapshot, write, restore (its `bao operator raft snapshot restore` line as written, which
// POSTs to `sys/storage/raft/snapshot`), and the write is gone while the old data is back, on
// the same cluster, unsealed, three voters.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { waitFor, vaultAdmin } from '@rotor/testbed';
import { VaultClient } from '@rotor/vault-client';
import { FaultStack } from './stack.ts';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

interface CronJob {
  kind: string;
  metadata: { name: string };
  spec: { jobTemplate: { spec: { template: { spec: { containers: { command: string[]; args: string[]; env: { name: string; value: string }[] }[] } } } } };
}

/** The CronJob's container as shipped: command, script, environment. */
function shippedSnapshotJob(): { command: string[]; script: string; env: Record<string, string> } {
  const objects = parseAllDocuments(readFileSync(join(REPO, 'deploy/vault/snapshot.yaml'), 'utf8')).map((d) => d.toJS() as CronJob);
  const cron = objects.find((o) => o.kind === 'CronJob' && o.metadata.name === 'vault-raft-snapshot');
  const container = cron?.spec.jobTemplate.spec.template.spec.containers[0];
  assert.ok(container, 'deploy/vault/snapshot.yaml has the CronJob');
  return { command: container.command, script: container.args[0] ?? '', env: Object.fromEntries(container.env.map((e) => [e.name, e.value])) };
}

function run(command: string[], env: Record<string, string>): Promise<{ code: number; output: string }> {
  const [file = 'sh', ...args] = command;
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, output: stdout + stderr });
    });
  });
}

describe('backups: the raft snapshot CronJob and the restore drill (3-node raft cluster)', { timeout: 420_000 }, () => {
  let stack: FaultStack;
  let dir: string;
  let bin: string;
  let snapshotToken: string;
  const job = shippedSnapshotJob();
  // This cluster serves plain HTTP: no CA file (the cluster walkthrough runs the job over TLS).
  const { BAO_CACERT: shippedCaCert, ...shippedEnv } = job.env;
  /** The CronJob's script as shipped, with this cluster's active node and a token of the raft-snapshot policy. */
  const runJob = async (retain: number): Promise<{ code: number; output: string }> =>
    run(job.command.concat(job.script), {
      ...shippedEnv,
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      HOME: dir,
      BAO_ADDR: await stack.activeAddress(),
      BAO_TOKEN: snapshotToken,
      SNAPSHOT_DIR: join(dir, 'snapshots'),
      RETAIN: String(retain),
    });
  const kept = (): string[] => readdirSync(join(dir, 'snapshots')).filter((f) => f.endsWith('.snap')).sort();

  before(async () => {
    stack = await FaultStack.start();
    dir = join(stack.dir, 'backup');
    bin = join(dir, 'bin');
    mkdirSync(join(dir, 'snapshots'), { recursive: true });
    mkdirSync(bin);
    symlinkSync(stack.cluster.binary, join(bin, 'bao'));
    const root = await stack.root();
    await vaultAdmin.enableMount(root, 'faults', { type: 'kv' });
    // What the kubernetes auth role vault-snapshot hands the CronJob: a token of its policy alone.
    const created = await root.request<{ auth: { client_token: string } }>('POST', 'auth/token/create', { body: { policies: ['raft-snapshot'], no_default_policy: true, ttl: '15m' } });
    snapshotToken = created?.auth.client_token ?? '';
    assert.ok(snapshotToken);
    stack.secrets.add('snapshot token', snapshotToken);
  });
  after(async () => {
    await stack?.stop();
  });

  it('the CronJob script saves a snapshot per run and keeps the newest RETAIN; its policy allows nothing else', async () => {
    assert.equal(job.env.RETAIN, '24', 'the shipped retention');
    assert.equal(job.env.BAO_AUTH_ROLE, 'vault-snapshot');
    assert.equal(shippedCaCert, '/etc/rotor/vault-tls/ca.crt', 'the shipped job verifies Vault with the CA of vault-tls');
    const outputs: string[] = [];
    for (let i = 0; i < 4; i++) {
      // Names carry the second: the next run starts in the next one.
      const second = Math.floor(Date.now() / 1000);
      await waitFor('the next second', () => Promise.resolve(Math.floor(Date.now() / 1000) > second ? true : undefined), { timeoutMs: 2_000, intervalMs: 20 });
      const result = await runJob(3);
      outputs.push(result.output);
      assert.equal(result.code, 0, result.output);
      assert.match(result.output, /saved raft-\d{8}T\d{6}Z\.snap \(\d+ bytes\)/);
    }
    assert.equal(kept().length, 3, `the newest 3 kept: ${kept().join(', ')}`);
    assert.match(outputs[3] ?? '', /removed raft-/, 'the fourth run removed the oldest');
    assert.ok(!readdirSync(join(dir, 'snapshots')).includes('.partial'));
    // Least privilege: the snapshot policy reads no secret and cannot restore.
    const limited = new VaultClient({ address: await stack.activeAddress(), token: snapshotToken, timeoutMs: 5_000, retry: { attempts: 1 } });
    await assert.rejects(limited.request('GET', 'sys/mounts'), /403|permission denied/);
    await assert.rejects(limited.request('PUT', 'faults/x', { body: { value: 'x' } }), /403|permission denied/);
    const restore = await fetch(`${await stack.activeAddress()}/v1/sys/storage/raft/snapshot`, { method: 'POST', headers: { 'X-Vault-Token': snapshotToken }, body: Buffer.from('not a snapshot') });
    assert.equal(restore.status, 403, 'the snapshot policy cannot restore');
    await restore.body?.cancel();
    stack.assertNoSecretsInAnyLog([{ name: 'snapshot job', text: outputs.join('\n') }]);
  });

  it('restore drill: snapshot, write, restore; the write is gone, the old data back, the same cluster', async () => {
    const root = await stack.root();
    for (let i = 0; i < 20; i++) await root.request('PUT', `faults/kept-${i}`, { body: { value: `before-${i}` } });
    const second = Math.floor(Date.now() / 1000);
    await waitFor('the next second', () => Promise.resolve(Math.floor(Date.now() / 1000) > second ? true : undefined), { timeoutMs: 2_000, intervalMs: 20 });
    const saved = await runJob(24);
    assert.equal(saved.code, 0, saved.output);
    const snapshot = join(dir, 'snapshots', kept().at(-1) ?? '');
    // After the snapshot: a new key, and an old one changed.
    await root.request('PUT', 'faults/after-snapshot', { body: { value: 'gone after the restore' } });
    await root.request('PUT', 'faults/kept-0', { body: { value: 'changed' } });

    // The restore command of docs/operations.md as written, with this cluster's address, the root
    // token (the break-glass token there) and the snapshot file.
    const documented = readFileSync(join(REPO, 'docs/operations.md'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .find((l) => /^BAO_ADDR=\S+ BAO_TOKEN=\S+ bao operator raft snapshot restore \S+$/.test(l));
    assert.ok(documented, 'docs/operations.md has the restore command');
    const startedAt = performance.now();
    const script = documented.replace(/^BAO_ADDR=\S+/, `BAO_ADDR=${await stack.activeAddress()}`).replace(/\S+$/, '"$SNAPSHOT"');
    const restored = await run(['sh', '-ec', script], {
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      HOME: dir,
      VAULT_TOKEN: stack.keys.rootToken ?? '',
      SNAPSHOT: snapshot,
    });
    assert.equal(restored.code, 0, restored.output);
    const client = (): Promise<VaultClient> => stack.root();
    await waitFor(
      'the restored data readable',
      async () => {
        const c = await client();
        // A KV read of a missing key answers 404 with no errors[].
        const gone = await c.exchange('GET', 'faults/after-snapshot', { acceptStatuses: [404] }).then((a) => a.status === 404, () => undefined);
        const back = (await c.request<{ data: { value: string } }>('GET', 'faults/kept-0').catch(() => undefined))?.data.value;
        return gone === true && back === 'before-0' ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    const restoredMs = performance.now() - startedAt;
    const c = await client();
    for (let i = 0; i < 20; i++) assert.equal((await c.request<{ data: { value: string } }>('GET', `faults/kept-${i}`))?.data.value, `before-${i}`);
    assert.equal(await stack.healthy(), stack.clusterId, 'the same cluster, unsealed, three voters');
    await stack.assertSameCluster();
    console.log(`restore drill: snapshot of ${readFileSync(snapshot).length} bytes restored; the old data back and the later write gone ${Math.round(restoredMs)} ms after the restore call`);
    stack.assertNoSecretsInAnyLog([{ name: 'snapshot job and restore', text: saved.output + restored.output }]);
  });
});
