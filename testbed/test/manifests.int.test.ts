// Issue 7, "Manifests": everything under deploy/, built by the real kustomize,
// passes a real kube-apiserver's server-side dry-run (admission and strict
// schema validation: an unknown or misspelt field is an error), for the base
// and the sidecar overlay; plus the facts a user relies on.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { kubeOk, kubeRequest, kustomizeBuild, startKubeApiserver, type KubeApiserver } from '../src/index.ts';

const deploy = fileURLToPath(new URL('../../deploy/', import.meta.url));

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  [field: string]: unknown;
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

const describeObject = (o: KubeObject): string => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;

async function build(dir: string): Promise<KubeObject[]> {
  return parseAllDocuments(await kustomizeBuild(dir)).map((d) => d.toJS() as KubeObject);
}

/** The REST path of an object's collection, from the API's own discovery documents. */
async function collectionPaths(kube: KubeApiserver, objects: readonly KubeObject[]): Promise<(o: KubeObject) => string> {
  const resources = new Map<string, ApiResource[]>();
  for (const apiVersion of new Set(objects.map((o) => o.apiVersion))) {
    const base = apiVersion === 'v1' ? '/api/v1' : `/apis/${apiVersion}`;
    const list = await kubeOk<{ resources: ApiResource[] }>(kube, 'GET', base);
    resources.set(apiVersion, list.resources.filter((r) => !r.name.includes('/')));
  }
  return (o) => {
    const resource = resources.get(o.apiVersion)?.find((r) => r.kind === o.kind);
    if (!resource) throw new Error(`${describeObject(o)}: the API serves no ${o.kind} in ${o.apiVersion}`);
    const base = o.apiVersion === 'v1' ? '/api/v1' : `/apis/${o.apiVersion}`;
    return resource.namespaced ? `${base}/namespaces/${o.metadata.namespace ?? 'default'}/${resource.name}` : `${base}/${resource.name}`;
  };
}

/** Pod template annotations of a Deployment. */
function podAnnotations(objects: readonly KubeObject[], namespace: string, name: string): Record<string, string> {
  const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.namespace === namespace && o.metadata.name === name) as
    | (KubeObject & { spec: { template: { metadata: { annotations?: Record<string, string> } } } })
    | undefined;
  assert.ok(deployment, `Deployment ${namespace}/${name} is deployed`);
  return deployment.spec.template.metadata.annotations ?? {};
}

describe('deploy/ manifests against a real kube-apiserver', { timeout: 180_000 }, () => {
  let kube: KubeApiserver;
  let base: KubeObject[];
  let sidecar: KubeObject[];

  before(async () => {
    [kube, base, sidecar] = await Promise.all([startKubeApiserver(), build(deploy), build(`${deploy}overlays/sidecar`)]);
  });

  after(async () => {
    await kube?.stop();
  });

  it('kustomize builds the base and the sidecar overlay; they differ only in users-api', () => {
    assert.ok(base.length > 40, `the base has all of Rotor (${base.length} objects)`);
    assert.deepEqual(sidecar.map(describeObject), base.map(describeObject));
    const changed = sidecar.filter((o, i) => JSON.stringify(o) !== JSON.stringify(base[i])).map(describeObject);
    assert.deepEqual(changed, ['Deployment app/users-api']);
  });

  it('every object passes server-side dry-run with strict field validation', async () => {
    const pathOf = await collectionPaths(kube, [...base, ...sidecar]);
    // Namespaces for real (a dry-run object cannot be created in a namespace that does not exist), then the rest.
    const namespaces = base.filter((o) => o.kind === 'Namespace');
    assert.deepEqual(namespaces.map((n) => n.metadata.name).sort(), ['app', 'db', 'monitoring', 'vault']);
    const failures: string[] = [];
    const submit = async (o: KubeObject, dryRun: boolean): Promise<void> => {
      const query = `?fieldValidation=Strict${dryRun ? '&dryRun=All' : ''}`;
      const res = await kubeRequest<{ message?: string }>(kube, 'POST', `${pathOf(o)}${query}`, o);
      if (res.status >= 300) failures.push(`${describeObject(o)}: ${res.status} ${res.body.message ?? JSON.stringify(res.body)}`);
    };
    for (const ns of namespaces) await submit(ns, false);
    for (const [variant, objects] of [['base', base], ['overlays/sidecar', sidecar]] as const) {
      for (const o of objects.filter((x) => x.kind !== 'Namespace')) {
        const before = failures.length;
        await submit(o, true);
        if (failures.length > before) failures[failures.length - 1] = `${variant}: ${failures.at(-1) ?? ''}`;
      }
    }
    assert.deepEqual(failures, [], `rejected by the API server:\n${failures.join('\n')}`);
    // The check has teeth: a misspelt field is an error, not silently dropped.
    const users = base.find((o) => o.kind === 'Deployment' && o.metadata.name === 'users-api') as (KubeObject & { spec: object }) | undefined;
    assert.ok(users);
    await submit({ ...users, spec: { ...users.spec, replica: 3 } }, true);
    assert.equal(failures.length, 1);
    assert.match(failures[0] ?? '', /Deployment app\/users-api: 400 .*unknown field "spec.replica"/);
    // Dry-run persisted nothing.
    const deployments = await kubeOk<{ items: unknown[] }>(kube, 'GET', '/apis/apps/v1/deployments');
    assert.equal(deployments.items.length, 0);
  });

  it('raft keeps quorum: 3 vault replicas, at most one voluntarily unavailable', () => {
    const statefulSet = base.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'vault') as (KubeObject & { spec: { replicas: number } }) | undefined;
    assert.equal(statefulSet?.spec.replicas, 3);
    const pdb = base.find((o) => o.kind === 'PodDisruptionBudget' && o.metadata.name === 'vault') as (KubeObject & { spec: { maxUnavailable?: number } }) | undefined;
    assert.equal(pdb?.spec.maxUnavailable, 1);
  });

  it("users-api's agent annotations: init container only in the base, a sidecar in the overlay", () => {
    for (const [objects, prePopulateOnly] of [[base, 'true'], [sidecar, 'false']] as const) {
      const annotations = podAnnotations(objects, 'app', 'users-api');
      assert.equal(annotations['vault.hashicorp.com/agent-inject'], 'true');
      assert.equal(annotations['vault.hashicorp.com/role'], 'app-creds-reader-role');
      assert.equal(annotations['vault.hashicorp.com/agent-inject-secret-db-creds.json'], 'database/creds/db-reader-role');
      assert.ok(annotations['vault.hashicorp.com/agent-inject-template-db-creds.json']?.includes('database/creds/db-reader-role'));
      assert.equal(annotations['vault.hashicorp.com/agent-pre-populate-only'], prePopulateOnly);
    }
  });

  it('no Secret in the output: the operator creates them at install, so none lives in git', () => {
    assert.deepEqual(base.filter((o) => o.kind === 'Secret').map(describeObject), []);
    // Secret-looking environment variables always come from a Secret, never inline.
    const inline: string[] = [];
    const visit = (node: unknown, where: string): void => {
      if (Array.isArray(node)) node.forEach((n) => visit(n, where));
      else if (node && typeof node === 'object') {
        const env = node as { name?: unknown; value?: unknown };
        if (typeof env.name === 'string' && /PASSWORD|TOKEN|SECRET|_KEY$/i.test(env.name) && env.value !== undefined) inline.push(`${where}: ${env.name}`);
        Object.values(node).forEach((n) => visit(n, where));
      }
    };
    for (const o of [...base, ...sidecar]) if (o.kind !== 'Secret' && o.kind !== 'ConfigMap') visit(o, describeObject(o));
    assert.deepEqual(inline, []);
  });
});
