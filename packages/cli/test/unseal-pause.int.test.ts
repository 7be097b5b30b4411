// Issue 12, "Unsealer pause switch": a running `rotor unseal --pause-configmap`
// (the shipped flags' switch, with the shipped Role's rights on a real
// kube-apiserver) follows `rotor unseal pause|resume` within one probe interval,
// does not unseal a node of a real 3-node OpenBao raft cluster that restarted
// sealed while paused, reports the pause in /healthz, /metrics and `rotor
// status`, and unseals the node once resumed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { freePort, kubeOk, kubeRequest, serviceAccountToken, startKubeApiserver, startOpenBaoCluster, waitFor, type KubeApiserver, type OpenBaoCluster } from '@rotor/testbed';
import { FileKeyStore } from '@rotor/unsealer';
import { VaultClient } from '@rotor/vault-client';
import type { StatusReport } from '../src/status/model.ts';
import { rotor, startRotor } from './cli.ts';

const NS = 'vault';
const SWITCH = 'vault-unsealer';
/** The unsealer's readinessProbe period in deploy/unsealer/unsealer.yaml: "one probe interval". */
const PROBE_INTERVAL_MS = 5_000;

interface KubeObject {
  kind: string;
  metadata: { name: string };
  spec?: { template?: { spec?: { containers?: { args?: string[] }[] } } };
}
const shipped = parseAllDocuments(readFileSync(new URL('../../../deploy/unsealer/unsealer.yaml', import.meta.url), 'utf8')).map((d) => d.toJS() as KubeObject);
const object = (kind: string): KubeObject => {
  const found = shipped.find((o) => o.kind === kind && o.metadata.name === 'vault-unsealer');
  assert.ok(found, `deploy/unsealer/unsealer.yaml has the ${kind}`);
  return found;
};

/** A Prometheus text sample's value (labels given in full, in order), or undefined. */
function sample(metrics: string, series: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('rotor unseal pause|resume: the unsealer pause switch (3-node raft cluster, real kube-apiserver)', { timeout: 420_000 }, () => {
  let cluster: OpenBaoCluster;
  let kube: KubeApiserver;
  let dir: string;
  let healthPort: number;
  let unsealer: ReturnType<typeof startRotor> | undefined;
  const admin = (): Record<string, string> => ({ KUBECONFIG: kube.kubeconfigPath });
  const base = (): string => `http://127.0.0.1:${healthPort}`;
  const healthz = async (): Promise<{ state?: string; paused?: boolean }> =>
    (await fetch(`${base()}/healthz`, { signal: AbortSignal.timeout(2_000) })).json() as Promise<{ state?: string; paused?: boolean }>;
  const metrics = async (): Promise<string> => (await fetch(`${base()}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
  const sealed = async (address: string): Promise<boolean | undefined> =>
    new VaultClient({ address, timeoutMs: 2_000, retry: { attempts: 1 } }).sys.sealStatus().then((s) => s.sealed, () => undefined);

  before(async () => {
    [cluster, kube] = await Promise.all([startOpenBaoCluster({ nodes: 3 }), startKubeApiserver()]);
    dir = mkdtempSync(join(tmpdir(), 'rotor-pause-'));
    healthPort = await freePort('127.0.0.1');
    await kubeOk(kube, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    for (const kind of ['ServiceAccount', 'Role', 'RoleBinding']) {
      const o = object(kind);
      const path = kind === 'ServiceAccount' ? `/api/v1/namespaces/${NS}/serviceaccounts` : `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/${kind.toLowerCase()}s`;
      await kubeOk(kube, 'POST', path, o);
    }
    // The unsealer runs as its service account: the shipped Role's rights, nothing more.
    const token = await serviceAccountToken(kube, NS, 'vault-unsealer');
    const kubeconfig = join(dir, 'unsealer.kubeconfig');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 't', cluster: { server: kube.url, 'certificate-authority-data': Buffer.from(kube.caCert).toString('base64') } }],
        users: [{ name: 'vault-unsealer', user: { token } }],
        contexts: [{ name: 't', context: { cluster: 't', user: 'vault-unsealer' } }],
        'current-context': 't',
      }),
      { mode: 0o600 },
    );
    const args = object('Deployment').spec?.template?.spec?.containers?.[0]?.args ?? [];
    assert.ok(args.includes(`--pause-configmap=${NS}/${SWITCH}`), 'the shipped unsealer follows the switch');
    assert.ok(args.includes(`--k8s-lease=${NS}/vault-unsealer`));
    // The shipped switch and election flags, static discovery of the process nodes, the default resync.
    unsealer = startRotor(
      [
        'unseal',
        '--nodes',
        cluster.nodes.map((n) => n.address).join(','),
        '--key-store',
        `file:${join(dir, 'keys.json')}`,
        '--health-port',
        String(healthPort),
        `--k8s-lease=${NS}/vault-unsealer`,
        `--pause-configmap=${NS}/${SWITCH}`,
        '--identity',
        'unsealer-0',
      ],
      { KUBECONFIG: kubeconfig },
    );
    await waitFor(
      'the cluster initialized and every node unsealed',
      async () => ((await Promise.all(cluster.nodes.map((n) => sealed(n.address)))).every((s) => s === false) ? true : undefined),
      { timeoutMs: 120_000, intervalMs: 200 },
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${unsealer?.output().slice(-3000) ?? ''}`);
    });
  });
  after(async () => {
    await unsealer?.stop();
    await Promise.allSettled([cluster?.stop(), kube?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the Role lets the unsealer read and watch its switch by name, and nothing else of ConfigMaps', async () => {
    const token = await serviceAccountToken(kube, NS, 'vault-unsealer');
    const as = { token };
    assert.equal((await kubeRequest(kube, 'GET', `/api/v1/namespaces/${NS}/configmaps/${SWITCH}`, undefined, as)).status, 404, 'get by name: allowed (absent)');
    assert.equal((await kubeRequest(kube, 'GET', `/api/v1/namespaces/${NS}/configmaps/other`, undefined, as)).status, 403);
    assert.equal((await kubeRequest(kube, 'GET', `/api/v1/namespaces/${NS}/configmaps`, undefined, as)).status, 403, 'no list');
    const create = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: SWITCH }, data: { paused: 'false' } };
    assert.equal((await kubeRequest(kube, 'POST', `/api/v1/namespaces/${NS}/configmaps`, create, as)).status, 403, 'the unsealer cannot set its own switch');
    // No ConfigMap: not paused, and /healthz says so.
    assert.deepEqual(await healthz(), { healthy: true, state: 'running', paused: false });
    assert.equal(sample(await metrics(), 'rotor_unsealer_paused'), 0);
  });

  it('paused: a node restarted sealed stays sealed; resumed: it is unsealed', async () => {
    const before = await metrics();
    const unsealsBefore = sample(before, 'rotor_unsealer_actions_total{action="unseal",outcome="ok"}') ?? 0;
    const pause = await rotor(['unseal', 'pause', '--configmap', `${NS}/${SWITCH}`], admin());
    assert.equal(pause.code, 0, pause.stderr);
    const t0 = performance.now();
    await waitFor('the unsealer to report the pause', async () => ((await healthz()).paused === true && sample(await metrics(), 'rotor_unsealer_paused') === 1 ? true : undefined), {
      timeoutMs: PROBE_INTERVAL_MS,
      intervalMs: 25,
    });
    const honourMs = performance.now() - t0;

    const rootToken = (await new FileKeyStore(join(dir, 'keys.json')).load())?.rootToken ?? '';
    const status = await rotor(['status', '--json', '--unsealer-url', base()], { VAULT_ADDR: cluster.nodes[0]?.address ?? '', VAULT_TOKEN: rootToken });
    assert.equal(status.code, 7, 'a paused unsealer is a problem status reports');
    const report = JSON.parse(status.stdout) as StatusReport;
    assert.equal(report.unsealer?.paused, true, status.stdout);
    assert.ok(report.problems.some((p) => /paused/.test(p)), JSON.stringify(report.problems));

    const node = cluster.nodes[2];
    assert.ok(node);
    await node.kill();
    await node.start();
    assert.equal(await sealed(node.address), true, `${node.id} restarted sealed`);
    const pausedPasses = async (): Promise<number> => sample(await metrics(), 'rotor_unsealer_passes_total{result="paused"}') ?? 0;
    const passesAtRestart = await pausedPasses();
    // The unsealer has seen the node sealed, and passed over it twice more since (seal probe + resyncs).
    await waitFor(
      'the paused unsealer to observe the sealed node in two passes',
      async () => (sample(await metrics(), `rotor_unsealer_node_sealed{node="${node.address}"}`) === 1 && (await pausedPasses()) >= passesAtRestart + 2 ? true : undefined),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    assert.equal(await sealed(node.address), true, 'a paused unsealer does not unseal the restarted node');
    const during = await metrics();
    assert.equal(sample(during, 'rotor_unsealer_actions_total{action="unseal",outcome="ok"}') ?? 0, unsealsBefore, 'no unseal while paused');
    const pending = 'rotor_unsealer_actions_total{action="unseal",outcome="pending"}';
    assert.equal(sample(during, pending), sample(before, pending), 'no shares submitted while paused');
    assert.match(unsealer?.output() ?? '', /"msg":"paused: not acting"/);

    const resume = await rotor(['unseal', 'resume', '--configmap', `${NS}/${SWITCH}`], admin());
    assert.equal(resume.code, 0, resume.stderr);
    const t1 = performance.now();
    await waitFor(`${node.id} unsealed after the resume`, async () => ((await sealed(node.address)) === false ? true : undefined), { timeoutMs: PROBE_INTERVAL_MS * 2, intervalMs: 50 });
    const resumeMs = performance.now() - t1;
    assert.equal((await healthz()).paused, false);
    assert.equal(sample(await metrics(), 'rotor_unsealer_paused'), 0);
    assert.equal(sample(await metrics(), 'rotor_unsealer_actions_total{action="unseal",outcome="ok"}'), unsealsBefore + 1);
    console.log(`pause reported (healthz and metric) ${Math.round(honourMs)} ms after \`rotor unseal pause\` returned; the restarted node unsealed ${Math.round(resumeMs)} ms after \`rotor unseal resume\` returned`);
  });

  it('kubectl-style: deleting the ConfigMap resumes, creating it with paused=true pauses, an unknown value pauses', async () => {
    const path = `/api/v1/namespaces/${NS}/configmaps`;
    await kubeOk(kube, 'DELETE', `${path}/${SWITCH}`);
    await waitFor('not paused', async () => ((await healthz()).paused === false ? true : undefined), { timeoutMs: PROBE_INTERVAL_MS, intervalMs: 25 });
    await kubeOk(kube, 'POST', path, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: SWITCH }, data: { paused: 'yes' } });
    await waitFor('paused by an unknown value', async () => ((await healthz()).paused === true ? true : undefined), { timeoutMs: PROBE_INTERVAL_MS, intervalMs: 25 });
    await kubeOk(kube, 'PATCH', `${path}/${SWITCH}`, { data: { paused: 'false' } }, { contentType: 'application/merge-patch+json' });
    await waitFor('resumed by paused=false', async () => ((await healthz()).paused === false ? true : undefined), { timeoutMs: PROBE_INTERVAL_MS, intervalMs: 25 });
    assert.doesNotMatch(unsealer?.output() ?? '', /pause switch unreadable/, 'the Role covers the watch');
  });
});
