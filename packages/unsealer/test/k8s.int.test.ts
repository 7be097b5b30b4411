// Issue 7, "Unsealer Kubernetes drivers": the Secret key store, pod discovery,
// the pod watch and the Lease election against a real kube-apiserver, acting as
// the service account of deploy/unsealer/unsealer.yaml with the shipped Role,
// driving a real 3-node OpenBao raft cluster whose nodes the test reports as pods.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoordinationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import {
  kubeOk,
  kubeRequest,
  serviceAccountToken,
  startKubeApiserver,
  startOpenBaoCluster,
  waitFor,
  type KubeApiserver,
  type OpenBaoCluster,
} from '@rotor/testbed';
import {
  KubernetesLeaseElection,
  KubernetesPodDiscovery,
  KubernetesSecretKeyStore,
  PodWatchTrigger,
  UnsealKeys,
  Unsealer,
  isUnsealerError,
  type NodeDiscovery,
  type PodDiscoveryOptions,
  type UnsealerOptions,
} from '../src/index.ts';
import { assertNoSecrets, captureLog, counterValue, sealStatus, waitForHealthyCluster, type CapturedLog } from './cluster-helpers.ts';
import { createObject, createPod, findObject, kubeConfigFor, manifest, reportPodRunning, writeKubeconfig, type KubeObject } from './k8s-helpers.ts';

const NS = 'vault';
const SECRET = 'vault-unseal-keys';
const LEASE = 'vault-unsealer';
const cli = new URL('../../cli/bin/rotor.js', import.meta.url).pathname;

const unsealerManifest = manifest('unsealer/unsealer.yaml');
const serverManifest = manifest('vault/server.yaml');
/** The unsealer container's args as shipped. */
const shippedArgs = (): string[] => {
  const deployment = findObject(unsealerManifest, 'Deployment', 'vault-unsealer') as KubeObject & {
    spec: { template: { spec: { containers: { args: string[] }[] } } };
  };
  return deployment.spec.template.spec.containers[0]?.args ?? [];
};
const flag = (name: string): string => {
  const arg = shippedArgs().find((a) => a.startsWith(`--${name}=`));
  assert.ok(arg, `the manifest sets --${name}`);
  return arg.slice(name.length + 3);
};

describe('unsealer Kubernetes drivers against a real kube-apiserver', { timeout: 420_000 }, () => {
  let kube: KubeApiserver;
  let cluster: OpenBaoCluster;
  let dir: string;
  let token: string;
  let config: KubeConfig;
  let pods: { name: string; ip: string }[];
  let keys: UnsealKeys | undefined;
  const envelopeKey = randomBytes(32);
  const logs: CapturedLog[] = [];
  const running: Unsealer[] = [];

  const core = (): CoreV1Api => config.makeApiClient(CoreV1Api);
  const coordination = (): CoordinationV1Api => config.makeApiClient(CoordinationV1Api);
  /** The key store as the unsealer's service account sees it; `key: null` means no envelope key. */
  const store = (key: Buffer | null = envelopeKey): KubernetesSecretKeyStore =>
    new KubernetesSecretKeyStore(core(), { namespace: NS, name: SECRET, ...(key ? { envelopeKey: key } : {}) });
  const podOptions = (): PodDiscoveryOptions => ({
    namespace: NS,
    labelSelector: flag('k8s-selector'),
    port: Number(new URL(cluster.nodes[0]?.address ?? '').port),
  });
  /** An unsealer wired as `rotor unseal` wires it from the manifest's flags, with the service account's rights. */
  const unsealer = (identity: string, extra: Partial<UnsealerOptions> = {}, leaseSeconds?: number): Unsealer => {
    const log = captureLog();
    logs.push(log);
    const u = new Unsealer({
      discovery: new KubernetesPodDiscovery(core(), podOptions()),
      triggers: [new PodWatchTrigger(config, podOptions())],
      keyStore: store(),
      election: new KubernetesLeaseElection(coordination(), { namespace: NS, name: LEASE, identity, ...(leaseSeconds ? { leaseSeconds } : {}) }),
      logger: log.logger,
      ...extra,
    });
    running.push(u);
    return u;
  };
  const stopAll = async (): Promise<void> => {
    for (const u of running.splice(0)) if (u.state === 'running' || u.state === 'halted') await u.stop();
  };
  const unsealedAgain = async (node: OpenBaoCluster['nodes'][number]): Promise<void> => {
    await waitFor(`${node.id} unsealed`, async () => ((await sealStatus(node.address)).sealed ? undefined : true), { timeoutMs: 60_000, intervalMs: 100 });
  };
  const restartSealed = async (node: OpenBaoCluster['nodes'][number]): Promise<void> => {
    await node.kill();
    await node.start();
    assert.equal((await sealStatus(node.address)).sealed, true, `${node.id} comes back sealed`);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rotor-unsealer-k8s-'));
    [kube, cluster] = await Promise.all([startKubeApiserver(), startOpenBaoCluster({ nodes: 3, samePort: true })]);
    await kubeOk(kube, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    // The shipped ServiceAccount, Role and RoleBinding, exactly as deploy/ has them.
    for (const kind of ['ServiceAccount', 'Role', 'RoleBinding']) await createObject(kube, findObject(unsealerManifest, kind, 'vault-unsealer'));
    await createObject(kube, findObject(serverManifest, 'ServiceAccount', 'vault'));
    token = await serviceAccountToken(kube, NS, 'vault-unsealer');
    config = kubeConfigFor(kube, 'vault-unsealer', token);

    // The StatefulSet's pods, with the StatefulSet's own labels, at the nodes' addresses.
    const statefulSet = findObject(serverManifest, 'StatefulSet', 'vault') as KubeObject & { spec: { template: { metadata: { labels: Record<string, string> } } } };
    pods = cluster.nodes.map((n, i) => ({ name: `vault-${i}`, ip: n.host }));
    for (const pod of pods) {
      await createPod(kube, NS, pod.name, statefulSet.spec.template.metadata.labels);
      await reportPodRunning(kube, NS, pod.name, pod.ip);
    }
    // Not selected: another app's pod, and a vault pod that is not running yet.
    await createPod(kube, NS, 'not-vault', { 'app.kubernetes.io/name': 'vault-unsealer' });
    await reportPodRunning(kube, NS, 'not-vault', '127.0.0.9');
    await createPod(kube, NS, 'vault-pending', statefulSet.spec.template.metadata.labels);
  });

  after(async () => {
    await stopAll();
    await Promise.all([kube?.stop(), cluster?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("the shipped Role: its own Secret, pods and Lease only; anything else is forbidden", async () => {
    await kubeOk(kube, 'POST', `/api/v1/namespaces/${NS}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'other' }, stringData: { x: 'y' } });
    const as = (method: string, path: string, body?: unknown): Promise<number> => kubeRequest(kube, method, path, body, { token }).then((r) => r.status);
    assert.equal(await as('GET', `/api/v1/namespaces/${NS}/secrets/other`), 403, 'another Secret');
    assert.equal(await as('GET', `/api/v1/namespaces/${NS}/secrets`), 403, 'listing Secrets');
    assert.equal(await as('GET', `/api/v1/namespaces/default/secrets/${SECRET}`), 403, 'its Secret name in another namespace');
    assert.equal(await as('GET', `/api/v1/namespaces/${NS}/secrets/${SECRET}`), 404, 'its own Secret: allowed, not there yet');
    assert.equal(await as('GET', `/api/v1/namespaces/${NS}/pods`), 200, 'listing pods');
    assert.equal(await as('GET', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/other`), 403, 'another Lease');
    assert.equal(await as('GET', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${LEASE}`), 404, 'its own Lease: allowed, not there yet');
    assert.equal(await as('DELETE', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${LEASE}`), 403, 'deleting its Lease');
  });

  it('pod discovery: the labelled, running pods, addressed by pod IP and the --k8s-port', async () => {
    const targets = await new KubernetesPodDiscovery(core(), podOptions()).list();
    const port = podOptions().port;
    assert.deepEqual(
      targets,
      pods.map((p) => ({ id: p.name, address: `http://${p.ip}:${port}` })),
    );
  });

  it('Lease election: one of two instances leads; the other takes over on release or expiry', async () => {
    const election = (identity: string): KubernetesLeaseElection =>
      new KubernetesLeaseElection(coordination(), { namespace: NS, name: LEASE, identity, leaseSeconds: 2 });
    const [a, b] = [election('unsealer-a'), election('unsealer-b')];
    // Racing for a lease nobody holds: the API server lets exactly one write through.
    const first = await Promise.all([a.tryAcquire(), b.tryAcquire()]);
    assert.deepEqual([...first].sort(), [false, true]);
    const [leader, other] = first[0] ? [a, b] : [b, a];
    assert.equal(await leader.tryAcquire(), true, 'the leader renews');
    assert.equal(await other.tryAcquire(), false, 'the other waits');

    await leader.release();
    assert.equal(await other.tryAcquire(), true, 'released: the other takes over at once');
    // The new leader stops renewing (a crashed pod): the first takes over once the lease expires.
    assert.equal(await leader.tryAcquire(), false);
    await waitFor('the expired lease taken over', async () => ((await leader.tryAcquire()) ? true : undefined), { timeoutMs: 30_000, intervalMs: 250 });
    const lease = await kubeOk<{ spec: { holderIdentity: string; leaseTransitions: number } }>(
      kube,
      'GET',
      `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${LEASE}`,
    );
    assert.equal(lease.spec.holderIdentity, leader === a ? 'unsealer-a' : 'unsealer-b');
    assert.equal(lease.spec.leaseTransitions, 3, 'acquire, take-over after release, take-over after expiry');
    await leader.release();
  });

  it('Lease election with skewed clocks: takeover judged on our own clock, the renew deadline ends leadership first', async () => {
    const HOUR = 3_600_000;
    let elapsed = 0;
    // The same passage of time, clocks an hour apart (as between two nodes with broken NTP).
    const election = (identity: string, offset: number): KubernetesLeaseElection =>
      new KubernetesLeaseElection(coordination(), { namespace: NS, name: LEASE, identity, leaseSeconds: 6, renewDeadlineSeconds: 4, now: () => 1_700_000_000_000 + offset + elapsed });
    const a = election('unsealer-a', 0);
    const b = election('unsealer-b', HOUR);
    assert.equal(await a.tryAcquire(), true);
    // Under the old rule b saw a's renewTime an hour old on its clock and took over at once.
    assert.equal(await b.tryAcquire(), false, 'a freshly renewed lease is not taken by a clock an hour ahead');
    elapsed += 3_000;
    assert.equal(await a.tryAcquire(), true, 'a renews');
    assert.equal(await b.tryAcquire(), false, 'b sees the renewal: its own clock restarts');
    // a hangs: no renewal. Past its renew deadline it stops acting; b still waits for the lease.
    elapsed += 4_000;
    assert.equal(a.isLeading(), false, 'a steps down at its renew deadline');
    assert.equal(await b.tryAcquire(), false, 'b waits a whole lease on its own clock');
    elapsed += 2_001;
    assert.equal(await b.tryAcquire(), true, 'b takes over once it saw no change for the lease duration');
    assert.equal(a.isLeading(), false);
    assert.equal(await a.tryAcquire(), false, 'a finds the lease taken');
    const lease = await kubeOk<{ spec: { holderIdentity: string } }>(kube, 'GET', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${LEASE}`);
    assert.equal(lease.spec.holderIdentity, 'unsealer-b');
    await b.release();
  });

  it('two unsealers on pod discovery, the Secret store and the Lease: init once, join, unseal, one leader', async () => {
    const pair = [unsealer('unsealer-a'), unsealer('unsealer-b')];
    for (const u of pair) u.start();
    keys = await waitFor('keys in the Secret', () => store().load(), { timeoutMs: 90_000, intervalMs: 250 });
    assert.equal(keys.shares, 5);
    assert.ok(keys.rootToken);
    await waitForHealthyCluster(cluster, keys.rootToken);

    const inits = await Promise.all(pair.map((u) => counterValue(u.registry, 'rotor_unsealer_actions_total', { action: 'initialize' })));
    const acted = await Promise.all(pair.map((u) => counterValue(u.registry, 'rotor_unsealer_actions_total')));
    assert.deepEqual(inits.sort(), [0, 1], 'exactly one initialization');
    assert.equal(acted.filter((n) => n > 0).length, 1, 'only the Lease holder acted');

    // Envelope encryption: the Secret holds ciphertext, created immutable.
    const secret = await kubeOk<{ immutable?: boolean; data: Record<string, string> }>(kube, 'GET', `/api/v1/namespaces/${NS}/secrets/${SECRET}`);
    assert.equal(secret.immutable, true);
    const stored = Object.values(secret.data).map((v) => Buffer.from(v, 'base64').toString('utf8')).join('\n');
    for (const share of keys.keys) assert.ok(!stored.includes(share), 'no key share in the Secret in clear');
    assert.ok(!stored.includes(keys.rootToken), 'no root token in the Secret in clear');
  });

  it('the Secret is created once and never overwritten', async () => {
    assert.ok(keys);
    const path = `/api/v1/namespaces/${NS}/secrets/${SECRET}`;
    const before = await kubeOk<{ metadata: { resourceVersion: string }; data: Record<string, string> }>(kube, 'GET', path);

    // A second instance finds the keys and may not replace them.
    const second = store();
    assert.deepEqual((await second.load())?.keys, keys.keys);
    const other = new UnsealKeys({ keys: [randomBytes(32).toString('base64')], threshold: 1 });
    await assert.rejects(second.save(other), (err: unknown) => isUnsealerError(err) && err.code === 'UNSEALER_KEYS_EXIST');
    // Not even the admin can change its data: the Secret is immutable.
    const replace = await kubeRequest(kube, 'PUT', path, { ...before, data: { 'unseal-keys.json': Buffer.from('{}').toString('base64') } });
    assert.equal(replace.status, 422);
    const afterwards = await kubeOk<{ metadata: { resourceVersion: string }; data: Record<string, string> }>(kube, 'GET', path);
    assert.equal(afterwards.metadata.resourceVersion, before.metadata.resourceVersion);
    assert.deepEqual(afterwards.data, before.data);

    // Without the envelope key the Secret's content is useless.
    await assert.rejects(store(randomBytes(32)).load(), (err: unknown) => isUnsealerError(err) && err.code === 'UNSEALER_KEY_FORMAT');
    await assert.rejects(store(null).load(), (err: unknown) => isUnsealerError(err) && err.code === 'UNSEALER_KEY_FORMAT');
  });

  it('a restarted node is unsealed on the pod watch alone', async () => {
    assert.ok(keys);
    await stopAll();
    // No probe and a resync far beyond the deadline below: only a pod event can start the pass.
    const watcher = unsealer('unsealer-c', { probe: false, timing: { resyncMs: 600_000 } }, 900);
    const log = logs.at(-1);
    assert.ok(log);
    watcher.start();
    await waitFor('unsealer-c leading', () => Promise.resolve(log.text().includes('"msg":"leading"') ? true : undefined), { timeoutMs: 30_000, intervalMs: 100 });
    await waitFor('unsealer-c idle', async () => ((await counterValue(watcher.registry, 'rotor_unsealer_passes_total', { result: 'idle' })) > 0 ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 100,
    });

    const node = cluster.nodes[1];
    const pod = pods[1];
    assert.ok(node && pod);
    await restartSealed(node);
    // What the kubelet reports for a restarted container.
    await reportPodRunning(kube, NS, pod.name, pod.ip, 1);
    await unsealedAgain(node);
    assert.match(log.text(), new RegExp(`"why":"pod ${pod.name} modified"`));
    await waitForHealthyCluster(cluster, keys.rootToken ?? '');
    await stopAll();
  });

  it('`rotor unseal --once` with the manifest\'s flags, as the unsealer service account', async () => {
    assert.ok(keys);
    const node = cluster.nodes[2];
    assert.ok(node);
    await restartSealed(node);

    const kubeconfig = join(dir, 'kubeconfig');
    writeKubeconfig(kubeconfig, kube, 'vault-unsealer', token);
    const envelopeFile = join(dir, 'envelope-key');
    writeFileSync(envelopeFile, envelopeKey.toString('base64'), { mode: 0o600 });
    // The Deployment's args; only what differs outside a pod is replaced.
    const args = shippedArgs()
      .filter((a) => !a.startsWith('--health-port='))
      // TLS to the pods by their DNS names is the cluster walkthrough's (testbed/test/cluster.int):
      // this loopback cluster serves plain HTTP and has no cluster DNS.
      .filter((a) => !/^--(k8s-scheme|k8s-pod-dns|ca-cert)=/.test(a))
      .map((a) => (a.startsWith('--k8s-port=') ? `--k8s-port=${podOptions().port}` : a))
      .map((a) => (a.startsWith('--envelope-key-file=') ? `--envelope-key-file=${envelopeFile}` : a))
      // The ConfigMap mounted from deploy/vault/config.yaml (checked at start; applied only right after an init).
      .map((a) => (a.startsWith('--bootstrap-config=') ? `--bootstrap-config=${fileURLToPath(new URL('../../../deploy/vault/config.yaml', import.meta.url))}` : a));
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, KUBECONFIG: kubeconfig, POD_NAME: 'vault-unsealer-cli' };
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [cli, ...args, '--once', '--timeout=60000'], { env, timeout: 120_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });
    assert.equal(result.code, 0, `rotor unseal --once failed: ${result.stderr}`);
    assert.match(result.stdout, /3 nodes initialized and unsealed/);
    assert.equal((await sealStatus(node.address)).sealed, false);
    assertNoSecrets(result.stdout + result.stderr, keys, { envelopeKey });
  });

  it('a pass that outlasts the renew deadline does not act', async () => {
    assert.ok(keys);
    const node = cluster.nodes[0];
    assert.ok(node);
    await restartSealed(node);
    let elapsed = 0;
    let slow = true;
    let slowPasses = 0;
    const pods = new KubernetesPodDiscovery(core(), podOptions());
    // A pass whose discovery takes longer than the renew deadline (a slow API server), on the election's clock.
    const discovery: NodeDiscovery = {
      description: 'pods, slowly',
      list: async () => {
        const targets = await pods.list();
        if (slow) {
          elapsed += 5_000;
          slowPasses++;
        }
        return targets;
      },
    };
    const election = new KubernetesLeaseElection(coordination(), { namespace: NS, name: LEASE, identity: 'unsealer-d', leaseSeconds: 6, renewDeadlineSeconds: 4, now: () => 1_700_000_000_000 + elapsed });
    const slowOne = unsealer('unsealer-d', { discovery, election, probe: false, triggers: [], timing: { resyncMs: 200 } });
    const log = logs.at(-1);
    assert.ok(log);
    slowOne.start();
    await waitFor('two slow passes', () => Promise.resolve(slowPasses >= 2 && log.text().split('renew deadline passed').length > 2 ? true : undefined), { timeoutMs: 30_000, intervalMs: 50 });
    assert.equal(await counterValue(slowOne.registry, 'rotor_unsealer_actions_total'), 0, 'no action past the renew deadline');
    assert.equal((await sealStatus(node.address)).sealed, true, 'the node stays sealed while the pass is late');
    slow = false;
    await unsealedAgain(node);
    // The node may report unsealed a moment before the unsealer's own call returns and is counted.
    await waitFor('a timely pass counted its unseal', async () => ((await counterValue(slowOne.registry, 'rotor_unsealer_actions_total', { action: 'unseal' })) >= 1 ? true : undefined), {
      timeoutMs: 10_000,
      intervalMs: 50,
    });
    await stopAll();
  });

  it('no unseal key, root token or envelope key in any unsealer log', () => {
    assert.ok(keys);
    assert.ok(logs.length >= 3);
    for (const log of logs) assertNoSecrets(log.text(), keys, { envelopeKey });
  });
});
