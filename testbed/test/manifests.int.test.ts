// Issue 7, "Manifests": everything under deploy/, built by the real kustomize,
// passes a real kube-apiserver's server-side dry-run (admission and strict
// schema validation: an unknown or misspelt field is an error), for the base
// and the overlays sidecar, dev, production and prometheus-operator; plus the
// facts a user relies on. The prometheus-operator's and cert-manager's objects are
// checked against CRDs created first from testbed/crds/prometheus-operator.yaml and
// testbed/crds/cert-manager.yaml (strict subsets of upstream's schemas: see those files).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { parse, parseAllDocuments } from 'yaml';
import { kubeOk, kubeRequest, kustomizeBuild, startKubeApiserver, waitFor, type KubeApiserver } from '../src/index.ts';

const deploy = fileURLToPath(new URL('../../deploy/', import.meta.url));
const crdFiles = ['prometheus-operator.yaml', 'cert-manager.yaml'].map((f) => fileURLToPath(new URL(`../crds/${f}`, import.meta.url)));

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

/** A workload's pod spec. */
function podSpec(objects: readonly KubeObject[], kind: string, namespace: string, name: string): Record<string, unknown> & { containers: Record<string, unknown>[] } {
  const w = objects.find((o) => o.kind === kind && o.metadata.namespace === namespace && o.metadata.name === name) as
    | (KubeObject & { spec: { template: { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } } } })
    | undefined;
  assert.ok(w, `${kind} ${namespace}/${name} is deployed`);
  return w.spec.template.spec;
}

const find = (objects: readonly KubeObject[], kind: string, name: string): KubeObject | undefined => objects.find((o) => o.kind === kind && o.metadata.name === name);

describe('deploy/ manifests against a real kube-apiserver', { timeout: 300_000 }, () => {
  let kube: KubeApiserver;
  let base: KubeObject[];
  let sidecar: KubeObject[];
  let dev: KubeObject[];
  let production: KubeObject[];
  let operator: KubeObject[];

  before(async () => {
    [kube, base, sidecar, dev, production, operator] = await Promise.all([
      startKubeApiserver(),
      build(deploy),
      build(`${deploy}overlays/sidecar`),
      build(`${deploy}overlays/dev`),
      build(`${deploy}overlays/production`),
      build(`${deploy}overlays/prometheus-operator`),
    ]);
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

  it('every object of every variant passes server-side dry-run with strict field validation', async () => {
    // The prometheus-operator's and cert-manager's CRDs for real, before discovery can list their kinds.
    const crds = crdFiles.flatMap((file) => parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as KubeObject));
    for (const crd of crds) await kubeOk(kube, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    for (const crd of crds) {
      await waitFor(
        `CRD ${crd.metadata.name} established`,
        async () => {
          const got = await kubeOk<{ status?: { conditions?: { type: string; status: string }[] } }>(kube, 'GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`);
          return got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
        },
        { timeoutMs: 30_000 },
      );
    }
    const variants = [
      ['base', base],
      ['overlays/sidecar', sidecar],
      ['overlays/dev', dev],
      ['overlays/production', production],
      ['overlays/prometheus-operator', operator],
    ] as const;
    const pathOf = await waitFor('the API to serve monitoring.coreos.com/v1 and cert-manager.io/v1', () => collectionPaths(kube, variants.flatMap(([, objects]) => objects)).catch(() => undefined), { timeoutMs: 30_000 });
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
    // cert-manager's own namespace, where the production CA lives (it exists wherever cert-manager runs).
    await submit({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'cert-manager' } }, false);
    for (const [variant, objects] of variants) {
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
    // ...and so is one in a prometheus-operator object, against the CRDs' schemas.
    const rule = find(operator, 'PrometheusRule', 'rotor') as (KubeObject & { spec: { groups: Record<string, unknown>[] } }) | undefined;
    assert.ok(rule);
    await submit({ ...rule, spec: { groups: [{ ...rule.spec.groups[0], rulez: [] }] } }, true);
    assert.equal(failures.length, 2);
    assert.match(failures[1] ?? '', /PrometheusRule monitoring\/rotor: 400 .*unknown field "spec.groups\[0\].rulez"/);
    // ...and in a cert-manager Certificate.
    const certificate = find(production, 'Certificate', 'vault-tls') as (KubeObject & { spec: object }) | undefined;
    assert.ok(certificate);
    await submit({ ...certificate, spec: { ...certificate.spec, dnsName: ['x'] } }, true);
    assert.equal(failures.length, 3);
    assert.match(failures[2] ?? '', /Certificate vault\/vault-tls: 400 .*unknown field "spec.dnsName"/);
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
    for (const objects of [base, sidecar, dev, production, operator]) assert.deepEqual(objects.filter((o) => o.kind === 'Secret').map(describeObject), []);
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
    for (const o of [...base, ...sidecar, ...dev, ...production, ...operator]) if (o.kind !== 'Secret' && o.kind !== 'ConfigMap') visit(o, describeObject(o));
    assert.deepEqual(inline, []);
  });

  it('PostgreSQL keeps its data on a claim; the db-admin Job makes vault_admin from Secrets, with no password in any file', () => {
    const sts = find(base, 'StatefulSet', 'postgres') as (KubeObject & { spec: { volumeClaimTemplates: { metadata: { name: string } }[] } }) | undefined;
    assert.deepEqual(sts?.spec.volumeClaimTemplates.map((t) => t.metadata.name), ['data']);
    const pg = podSpec(base, 'StatefulSet', 'db', 'postgres') as { volumes: { name: string }[]; containers: { volumeMounts: { name: string; mountPath: string }[] }[] };
    assert.ok(!pg.volumes.some((v) => v.name === 'data'), 'no pod-lived volume named data');
    assert.ok(pg.containers[0]?.volumeMounts.some((m) => m.name === 'data' && m.mountPath === '/var/lib/postgresql/data'));
    const job = podSpec(base, 'Job', 'db', 'db-admin').containers[0] as { env: { name: string; valueFrom?: { secretKeyRef?: { name: string } } }[] };
    const fromSecrets = Object.fromEntries(job.env.filter((e) => e.valueFrom?.secretKeyRef).map((e) => [e.name, e.valueFrom?.secretKeyRef?.name]));
    assert.deepEqual(fromSecrets, { PGPASSWORD: 'postgres-superuser', VAULT_ADMIN_PASSWORD: 'postgres-bootstrap' });
    const sql = (find(base, 'ConfigMap', 'db-admin-sql') as { data: Record<string, string> } | undefined)?.data['db-admin.sql'] ?? '';
    assert.match(sql, /ALTER ROLE vault_admin WITH LOGIN CREATEROLE NOSUPERUSER/);
    assert.match(sql, /SET log_min_error_statement = 'panic'/, 'the statement with the password reaches no server log');
  });

  it('users-admin-api runs 2 replicas under a PodDisruptionBudget, like the reader', () => {
    const writer = find(base, 'Deployment', 'users-admin-api') as (KubeObject & { spec: { replicas: number } }) | undefined;
    assert.equal(writer?.spec.replicas, 2);
    const pdb = find(base, 'PodDisruptionBudget', 'users-admin-api') as (KubeObject & { spec: { maxUnavailable?: number; selector: unknown } }) | undefined;
    assert.equal(pdb?.spec.maxUnavailable, 1);
    assert.deepEqual(pdb?.spec.selector, { matchLabels: { 'app.kubernetes.io/name': 'users-admin-api' } });
    for (const name of ['users-api', 'users-admin-api']) {
      const probe = podSpec(base, 'Deployment', 'app', name).containers[0]?.readinessProbe as { failureThreshold?: number; timeoutSeconds?: number };
      assert.equal(probe.failureThreshold, 3, `${name}: one failed probe does not take a replica out`);
      assert.equal(probe.timeoutSeconds, 3, `${name}: the probe outlasts the 2 s database ping`);
    }
  });

  it('dev: the base on one node, small', () => {
    assert.deepEqual(dev.map(describeObject), base.map(describeObject));
    const affinity = podSpec(dev, 'StatefulSet', 'vault', 'vault').affinity as { podAntiAffinity: Record<string, unknown> };
    assert.deepEqual(Object.keys(affinity.podAntiAffinity), ['preferredDuringSchedulingIgnoredDuringExecution'], "Vault's pods may share the node");
    const changed = dev.filter((o, i) => JSON.stringify(o) !== JSON.stringify(base[i])).map(describeObject);
    assert.deepEqual(changed.sort(), ['Deployment app/users-admin-api', 'Deployment app/users-api', 'Deployment monitoring/prometheus', 'StatefulSet db/postgres', 'StatefulSet vault/vault']);
  });

  it('prometheus-operator: ServiceMonitor, PodMonitor and PrometheusRule instead of the standalone stack', () => {
    const kinds = (objects: readonly KubeObject[]): string[] => objects.filter((o) => o.metadata.namespace === 'monitoring').map(describeObject).sort();
    assert.deepEqual(kinds(operator), ['ConfigMap monitoring/grafana-dashboard-rotor', 'PodMonitor monitoring/rotor', 'PrometheusRule monitoring/rotor', 'ServiceMonitor monitoring/vault']);
    assert.equal(find(operator, 'ClusterRole', 'rotor-prometheus'), undefined);
    const rule = find(operator, 'PrometheusRule', 'rotor') as (KubeObject & { spec: { groups: unknown } }) | undefined;
    const shipped = parse(readFileSync(`${deploy}monitoring/rules.yaml`, 'utf8')) as { groups: unknown };
    assert.deepEqual(rule?.spec.groups, shipped.groups, 'the PrometheusRule holds rules.yaml (node deploy/components/prometheus-operator/generate.mjs)');
    // The monitors give the rules their `app` label, as the standalone scrape job does.
    for (const [kind, name, field] of [['ServiceMonitor', 'vault', 'endpoints'], ['PodMonitor', 'rotor', 'podMetricsEndpoints']] as const) {
      const monitor = find(operator, kind, name) as (KubeObject & { spec: Record<string, { relabelings: { targetLabel?: string }[] }[]> }) | undefined;
      for (const endpoint of monitor?.spec[field] ?? []) assert.ok(endpoint.relabelings.some((r) => r.targetLabel === 'app'), `${kind} ${name}: app label`);
    }
  });

  it('TLS to Vault in the base for every client; production adds only cert-manager for the same Secrets', () => {
    // The listener's certificate from vault/vault-tls, api_addr https; production runs the same server.hcl.
    const hcl = (objects: readonly KubeObject[]): string => (find(objects, 'ConfigMap', 'vault-config') as { data: Record<string, string> } | undefined)?.data['server.hcl'] ?? '';
    const lines = hcl(base).split('\n').map((l) => l.trim());
    for (const line of ['api_addr = "https://HOSTNAME.vault-internal.vault.svc:8200"', 'tls_cert_file = "/openbao/tls/tls.crt"', 'tls_key_file = "/openbao/tls/tls.key"']) assert.ok(lines.includes(line), line);
    assert.ok(!lines.some((l) => l.startsWith('tls_disable')), 'no plain-HTTP listener');
    for (const objects of [sidecar, dev, production, operator]) assert.equal(hcl(objects), hcl(base));
    const secretVolumes = (spec: { volumes?: { secret?: { secretName: string } }[] }): string[] => (spec.volumes ?? []).flatMap((v) => (v.secret ? [v.secret.secretName] : []));
    for (const objects of [base, production]) {
      const vault = podSpec(objects, 'StatefulSet', 'vault', 'vault');
      assert.ok(secretVolumes(vault as never).includes('vault-tls'));
      const server = vault.containers[0] as { env: { name: string; value?: string }[]; readinessProbe: { httpGet: { scheme?: string } }; livenessProbe: { httpGet: { scheme?: string } } };
      assert.equal(server.env.find((e) => e.name === 'BAO_ADDR')?.value, 'https://127.0.0.1:8200');
      assert.equal(server.env.find((e) => e.name === 'BAO_CACERT')?.value, '/openbao/tls/ca.crt');
      assert.equal(server.readinessProbe.httpGet.scheme, 'HTTPS');
      assert.equal(server.livenessProbe.httpGet.scheme, 'HTTPS');
      const unsealer = podSpec(objects, 'Deployment', 'vault', 'vault-unsealer').containers[0] as { args: string[] };
      assert.ok(unsealer.args.includes('--k8s-scheme=https') && unsealer.args.includes('--ca-cert=/etc/rotor/vault-tls/ca.crt'));
      // By the pods' names, which the certificate holds (*.vault-internal.vault.svc), not their IPs.
      assert.ok(unsealer.args.includes('--k8s-pod-dns=vault-internal'));
      const configure = podSpec(objects, 'Job', 'vault', 'vault-configure').containers[0] as { env: { name: string; value?: string }[] };
      assert.equal(configure.env.find((e) => e.name === 'VAULT_ADDR')?.value, 'https://vault-active.vault.svc:8200');
      assert.equal(configure.env.find((e) => e.name === 'VAULT_CACERT')?.value, '/etc/rotor/vault-tls/ca.crt');
      const snapshot = find(objects, 'CronJob', 'vault-raft-snapshot') as { spec: { jobTemplate: { spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } } } } } | undefined;
      const snapshotEnv = snapshot?.spec.jobTemplate.spec.template.spec.containers[0]?.env ?? [];
      assert.equal(snapshotEnv.find((e) => e.name === 'BAO_ADDR')?.value, 'https://vault-active.vault.svc:8200');
      assert.equal(snapshotEnv.find((e) => e.name === 'BAO_CACERT')?.value, '/etc/rotor/vault-tls/ca.crt');
      const injector = podSpec(objects, 'Deployment', 'vault', 'vault-agent-injector').containers[0] as { env: { name: string; value?: string }[] };
      assert.equal(injector.env.find((e) => e.name === 'AGENT_INJECT_VAULT_ADDR')?.value, 'https://vault-active.vault.svc:8200');
      for (const name of ['users-api', 'users-admin-api']) {
        assert.equal(podAnnotations(objects, 'app', name)['vault.hashicorp.com/ca-cert'], '/vault/tls/ca.crt');
        assert.equal(podAnnotations(objects, 'app', name)['vault.hashicorp.com/tls-secret'], 'vault-ca');
      }
    }
    // Rotor's own Prometheus scrapes Vault over TLS with the CA; the operator's ServiceMonitor too.
    const scrape = (find(base, 'ConfigMap', 'prometheus-config') as { data: Record<string, string> } | undefined)?.data['prometheus.yml'] ?? '';
    assert.deepEqual((parse(scrape) as { scrape_configs: { tls_config?: unknown }[] }).scrape_configs[0]?.tls_config, { ca_file: '/etc/vault-ca/ca.crt', server_name: 'vault.vault.svc' });
    assert.ok(secretVolumes(podSpec(base, 'Deployment', 'monitoring', 'prometheus') as never).includes('vault-ca'));
    for (const objects of [production, operator]) {
      const monitor = find(objects, 'ServiceMonitor', 'vault') as { spec: { endpoints: { scheme?: string; tlsConfig?: unknown }[] } } | undefined;
      assert.equal(monitor?.spec.endpoints[0]?.scheme, 'https');
      assert.deepEqual(monitor?.spec.endpoints[0]?.tlsConfig, { ca: { secret: { name: 'vault-ca', key: 'ca.crt' } }, serverName: 'vault.vault.svc' });
    }
  });

  it('production: zones, PriorityClasses, the operator objects', () => {
    const vault = podSpec(production, 'StatefulSet', 'vault', 'vault');
    // One zone lost keeps raft's quorum: the voters may not share a zone.
    assert.deepEqual(vault.topologySpreadConstraints, [
      { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'vault', component: 'server' } } },
    ]);
    assert.ok(find(production, 'PriorityClass', 'rotor-vault') && find(production, 'PriorityClass', 'rotor-services'));
    for (const [kind, ns, name, priority] of [
      ['StatefulSet', 'vault', 'vault', 'rotor-vault'],
      ['Deployment', 'vault', 'vault-unsealer', 'rotor-vault'],
      ['Deployment', 'vault', 'vault-agent-injector', 'rotor-vault'],
      ['Deployment', 'app', 'users-api', 'rotor-services'],
      ['Deployment', 'app', 'users-admin-api', 'rotor-services'],
      ['StatefulSet', 'db', 'postgres', 'rotor-services'],
    ] as const) {
      assert.equal(podSpec(production, kind, ns, name).priorityClassName, priority, `${kind} ${ns}/${name}`);
    }
    assert.ok(find(production, 'PrometheusRule', 'rotor') && !find(production, 'Deployment', 'prometheus'));
  });

  it('production: cert-manager issues every certificate from the deployment\'s own CA', () => {
    type Certificate = KubeObject & { spec: { secretName: string; isCA?: boolean; dnsNames?: string[]; ipAddresses?: string[]; issuerRef: { name: string; kind: string } } };
    const certificates = production.filter((o) => o.kind === 'Certificate') as Certificate[];
    assert.deepEqual(certificates.map(describeObject).sort(), ['Certificate app/vault-ca', 'Certificate cert-manager/rotor-ca', 'Certificate db/postgres-tls', 'Certificate monitoring/vault-ca', 'Certificate vault/vault-tls']);
    const ca = certificates.find((c) => c.metadata.name === 'rotor-ca');
    assert.equal(ca?.spec.isCA, true);
    assert.deepEqual((find(production, 'ClusterIssuer', 'rotor-ca') as { spec: unknown } | undefined)?.spec, { ca: { secretName: 'rotor-ca' } });
    for (const c of certificates.filter((x) => x !== ca)) assert.deepEqual(c.spec.issuerRef, { name: 'rotor-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' }, describeObject(c));
    // The listener certificate names every address a client dials: the services, each pod's api_addr, the pods' own BAO_ADDR.
    const vaultTls = certificates.find((c) => c.metadata.name === 'vault-tls');
    const names = new Set(vaultTls?.spec.dnsNames);
    for (const name of ['vault-active.vault.svc', 'vault.vault.svc', '*.vault-internal.vault.svc', 'vault-0.vault-internal.vault.svc']) assert.ok(names.has(name), name);
    assert.deepEqual(vaultTls?.spec.ipAddresses, ['127.0.0.1']);
    // The Secrets the workloads mount are the ones cert-manager writes.
    const secretVolumes = (spec: { volumes?: { secret?: { secretName: string } }[] }): string[] => (spec.volumes ?? []).flatMap((v) => (v.secret ? [v.secret.secretName] : []));
    assert.ok(secretVolumes(podSpec(production, 'StatefulSet', 'vault', 'vault') as never).includes('vault-tls'));
    // PostgreSQL's certificate: the Secret the base mounts, named as its clients dial it.
    assert.deepEqual(certificates.find((c) => c.metadata.name === 'postgres-tls')?.spec.dnsNames, ['postgres.db.svc', 'postgres.db.svc.cluster.local']);
    assert.ok(secretVolumes(podSpec(production, 'StatefulSet', 'db', 'postgres') as never).includes('postgres-tls'));
  });

  it('PostgreSQL serves TLS only in the base and every overlay, and every client verifies it', () => {
    for (const [name, objects] of [['base', base], ['production', production], ['sidecar', sidecar], ['dev', dev], ['prometheus-operator', operator]] as const) {
      const secretVolumes = (spec: { volumes?: { secret?: { secretName: string } }[] }): string[] => (spec.volumes ?? []).flatMap((v) => (v.secret ? [v.secret.secretName] : []));
      const pgSpec = podSpec(objects, 'StatefulSet', 'db', 'postgres') as { containers: { args?: string[] }[]; volumes?: { secret?: { secretName: string } }[] };
      assert.ok(secretVolumes(pgSpec).includes('postgres-tls'), name);
      assert.deepEqual(pgSpec.containers[0]?.args?.filter((a) => a.startsWith('ssl') || a.startsWith('hba')), ['ssl=on', 'ssl_cert_file=/etc/postgres-tls/tls.crt', 'ssl_key_file=/etc/postgres-tls/tls.key', 'hba_file=/etc/postgres-hba/pg_hba.conf'], name);
      const hba = (find(objects, 'ConfigMap', 'postgres-hba') as { data: Record<string, string> } | undefined)?.data['pg_hba.conf'] ?? '';
      const rules = hba.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
      assert.ok(rules.length > 0 && rules.every((l) => /^(local|hostssl)\s/.test(l)), `${name}: only TLS over TCP:\n${hba}`);
      // The DB admin keeps the socket, with peer authentication (docs/operations.md's runbook).
      assert.ok(rules.some((l) => /^local\s+all\s+all\s+peer$/.test(l)), `${name}: local peer:\n${hba}`);
      // Every workload that dials PostgreSQL verifies it with the CA.
      let clients = 0;
      for (const o of objects.filter((x) => x.kind === 'Deployment' || x.kind === 'StatefulSet' || x.kind === 'Job')) {
        const spec = (o as unknown as { spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } } }).spec.template.spec;
        for (const c of spec.containers) {
          const env = new Map((c.env ?? []).map((e) => [e.name, e.value]));
          if (env.has('DB_HOST')) {
            clients++;
            assert.equal(env.get('DB_SSLROOTCERT'), '/etc/rotor/ca/ca.crt', `${name}: ${describeObject(o)}`);
          }
          if (env.has('PGHOST')) {
            clients++;
            assert.deepEqual([env.get('PGSSLMODE'), env.get('PGSSLROOTCERT')], ['verify-full', '/etc/postgres-ca/ca.crt'], `${name}: ${describeObject(o)}`);
          }
        }
      }
      assert.equal(clients, 3, `${name}: users-api, users-admin-api and the db-admin Job`);
    }
  });
});
