// evictPod against a real kube-apiserver on a real etcd, with RBAC: the
// ServiceAccount, Role, RoleBinding and PodDisruptionBudget are the ones
// shipped in deploy/users-api/users-api.yaml, and the service account's token
// and the CA are read from files, as in a pod. No controller-manager or kubelet
// runs, so the test plays their parts through the status subresources: the pod
// is bound to a node, Running and Ready, and the PDB status carries the
// disruptionsAllowed the disruption controller would compute — exactly what the
// eviction admission reads.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { kubeOk, kubeRequest, serviceAccountToken, startKubeApiserver, type KubeApiserver } from '@rotor/testbed';
import { evictPod, type KubernetesAccess } from '@rotor/db-credentials/service-kit';

const MANIFEST = fileURLToPath(new URL('../../../deploy/users-api/users-api.yaml', import.meta.url));
const NS = 'app';
const LABELS = { 'app.kubernetes.io/name': 'users-api' };
const MERGE = { contentType: 'application/merge-patch+json' };

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; generation?: number; deletionTimestamp?: string; deletionGracePeriodSeconds?: number; uid?: string };
  [field: string]: unknown;
}

interface Pdb extends KubeObject {
  spec: { maxUnavailable?: number | string; selector: { matchLabels: Record<string, string> } };
  status?: { disruptionsAllowed?: number; disruptedPods?: Record<string, string> };
}

function shipped(objects: readonly KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === NS);
  assert.ok(found, `deploy/users-api/users-api.yaml ships ${kind} ${NS}/${name}`);
  return found;
}

describe('self-eviction through the Eviction API of a real kube-apiserver', { timeout: 300_000 }, () => {
  let kube: KubeApiserver | undefined;
  let dir: string | undefined;
  let access: KubernetesAccess;
  let otherAccess: KubernetesAccess;
  let pdbGeneration: number;

  const api = (): KubeApiserver => {
    assert.ok(kube, 'the apiserver is running');
    return kube;
  };

  /** What the disruption controller would write: the eviction admission reads only this status. */
  async function setBudget(disruptionsAllowed: number): Promise<void> {
    await kubeOk(api(), 'PATCH', `/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets/users-api/status`, {
      status: { observedGeneration: pdbGeneration, disruptionsAllowed, currentHealthy: 3, desiredHealthy: 3 - disruptionsAllowed, expectedPods: 3, disruptedPods: null },
    }, MERGE);
  }

  /**
   * A users-api pod as the scheduler and kubelet would leave it: bound, Running and Ready.
   * It must be: the API evicts a Pending pod without consulting the budget at all.
   */
  async function runningPod(name: string): Promise<void> {
    await kubeOk(api(), 'POST', `/api/v1/namespaces/${NS}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, labels: LABELS },
      spec: { serviceAccountName: 'app-auth', nodeName: 'node-a', containers: [{ name: 'users-api', image: 'rotor.invalid/users-api:test' }] },
    });
    await kubeOk(api(), 'PATCH', `/api/v1/namespaces/${NS}/pods/${name}/status`, {
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }, { type: 'PodScheduled', status: 'True' }] },
    }, MERGE);
  }

  /** The pod as the API has it now, or undefined once it is gone. */
  async function getPod(name: string): Promise<KubeObject | undefined> {
    const res = await kubeRequest<KubeObject>(api(), 'GET', `/api/v1/namespaces/${NS}/pods/${name}`);
    if (res.status === 404) return undefined;
    assert.equal(res.status, 200, `GET pod ${name}`);
    return res.body;
  }

  async function getPdb(): Promise<Pdb> {
    return kubeOk<Pdb>(api(), 'GET', `/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets/users-api`);
  }

  before(async () => {
    kube = await startKubeApiserver({ timeoutMs: 180_000 });
    dir = mkdtempSync(join(tmpdir(), 'rotor-self-eviction-'));
    const objects = parseAllDocuments(readFileSync(MANIFEST, 'utf8')).map((d) => d.toJS() as KubeObject);

    await kubeOk(kube, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    // The shipped objects, unchanged: this proves the deployed RBAC and budget, not a copy of them.
    await kubeOk(kube, 'POST', `/api/v1/namespaces/${NS}/serviceaccounts`, shipped(objects, 'ServiceAccount', 'app-auth'));
    await kubeOk(kube, 'POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles`, shipped(objects, 'Role', 'users-api-self-eviction'));
    await kubeOk(kube, 'POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings`, shipped(objects, 'RoleBinding', 'users-api-self-eviction'));
    const pdb = shipped(objects, 'PodDisruptionBudget', 'users-api') as Pdb;
    assert.equal(pdb.spec.maxUnavailable, 1);
    assert.deepEqual(pdb.spec.selector.matchLabels, LABELS);
    const created = await kubeOk<Pdb>(kube, 'POST', `/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets`, pdb);
    pdbGeneration = created.metadata.generation ?? 1;
    // A service account the Role is not bound to.
    await kubeOk(kube, 'POST', `/api/v1/namespaces/${NS}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'other' } });

    const caPath = join(dir, 'ca.crt');
    writeFileSync(caPath, kube.caCert);
    const tokenPath = join(dir, 'token');
    writeFileSync(tokenPath, await serviceAccountToken(kube, NS, 'app-auth', { expirationSeconds: 600 }), { mode: 0o600 });
    const otherTokenPath = join(dir, 'other-token');
    writeFileSync(otherTokenPath, await serviceAccountToken(kube, NS, 'other', { expirationSeconds: 600 }), { mode: 0o600 });
    access = { apiServer: kube.url, tokenPath, caPath };
    otherAccess = { apiServer: kube.url, tokenPath: otherTokenPath, caPath };
  });

  after(async () => {
    try {
      await kube?.stop();
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers blocked-by-budget (429) while the PDB allows no disruption, and the pod stays', async () => {
    await runningPod('users-api-blocked');
    await setBudget(0);
    const result = await evictPod(access, { name: 'users-api-blocked', namespace: NS });
    assert.deepEqual(result, { outcome: 'blocked-by-budget', status: 429 });
    const pod = await getPod('users-api-blocked');
    assert.ok(pod, 'the pod still exists');
    assert.equal(pod.metadata.deletionTimestamp, undefined, 'the pod is not being deleted');
  });

  it('answers failed (403) for a service account without the Role, even when the budget allows it', async () => {
    await runningPod('users-api-forbidden');
    await setBudget(1);
    const result = await evictPod(otherAccess, { name: 'users-api-forbidden', namespace: NS });
    assert.deepEqual(result, { outcome: 'failed', status: 403 });
    const pod = await getPod('users-api-forbidden');
    assert.ok(pod, 'the pod still exists');
    assert.equal(pod.metadata.deletionTimestamp, undefined, 'the pod is not being deleted');
    const pdb = await getPdb();
    assert.equal(pdb.status?.disruptionsAllowed, 1, 'the budget was not spent');
  });

  it('answers evicted when the PDB allows a disruption: the budget is spent and the pod is deleted gracefully', async () => {
    await runningPod('users-api-evicted');
    const uid = (await getPod('users-api-evicted'))?.metadata.uid;
    assert.ok(uid, 'the pod has a uid');
    await setBudget(1);
    const result = await evictPod(access, { name: 'users-api-evicted', namespace: NS });
    assert.deepEqual(result, { outcome: 'evicted', status: 201 });
    // The API recorded the disruption against the budget, so a second replica is refused.
    const pdb = await getPdb();
    assert.equal(pdb.status?.disruptionsAllowed, 0);
    assert.ok(pdb.status?.disruptedPods && 'users-api-evicted' in pdb.status.disruptedPods, 'the pod is listed in disruptedPods');
    // A bound pod is deleted gracefully: the eviction itself sets its deletionTimestamp with the pod's
    // grace period (the kubelet would then send SIGTERM and remove it; none runs here, so it stays).
    const pod = await getPod('users-api-evicted');
    assert.ok(pod, 'the bound pod still exists while it terminates (no kubelet removes it)');
    assert.equal(pod.metadata.uid, uid, 'the same pod, not a replacement');
    assert.ok(pod.metadata.deletionTimestamp, 'the eviction marked the pod for deletion');
    assert.equal(pod.metadata.deletionGracePeriodSeconds, 30, "with the pod's termination grace period (default 30 s), not a forced delete");
    await runningPod('users-api-next');
    assert.deepEqual(await evictPod(access, { name: 'users-api-next', namespace: NS }), { outcome: 'blocked-by-budget', status: 429 });
    assert.ok(await getPod('users-api-next'), 'the next replica stays');
  });

  it('answers pod-gone (404) for a pod that does not exist', async () => {
    await setBudget(1);
    const result = await evictPod(access, { name: 'users-api-never-existed', namespace: NS });
    assert.deepEqual(result, { outcome: 'pod-gone', status: 404 });
  });
});
