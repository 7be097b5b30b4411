// deploy/overlays/openbao and deploy/overlays/hashicorp-vault, built by the real kustomize:
// one base, each overlay running its own server and injecting that server's agent, and
// the Vault component changing nothing but what differs between the two servers.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { kustomizeBuild } from '../src/index.ts';

const deploy = fileURLToPath(new URL('../../deploy/', import.meta.url));

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: { name: string; configMap?: { name: string }; emptyDir?: unknown }[];
}
interface KubeObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
  spec?: {
    selector?: Record<string, string>;
    template?: { spec: PodSpec };
    jobTemplate?: { spec: { template: { spec: PodSpec } } };
  };
}

const id = (o: KubeObject): string => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;

async function build(overlay: string): Promise<Map<string, KubeObject>> {
  const docs = parseAllDocuments(await kustomizeBuild(`${deploy}overlays/${overlay}`)).map((d) => d.toJS() as KubeObject);
  return new Map(docs.map((o) => [id(o), o]));
}

function get(objects: Map<string, KubeObject>, key: string): KubeObject {
  const o = objects.get(key);
  assert.ok(o, `${key} is deployed`);
  return o;
}

const server = (objects: Map<string, KubeObject>): { pod: NonNullable<NonNullable<KubeObject['spec']>['template']>['spec']; main: Container } => {
  const pod = get(objects, 'StatefulSet vault/vault').spec?.template?.spec;
  assert.ok(pod);
  const main = pod.containers[0];
  assert.ok(main);
  return { pod, main };
};

const agentImage = (objects: Map<string, KubeObject>): string | undefined =>
  get(objects, 'Deployment vault/vault-agent-injector').spec?.template?.spec.containers[0]?.env?.find((e) => e.name === 'AGENT_INJECT_VAULT_IMAGE')?.value;

const envNames = (c: Container): string[] => (c.env ?? []).map((e) => e.name).sort();

/** The objects the flavour may change: the servers, the two Services selecting on the active label, the injector's agent image. */
const FLAVOURED = ['StatefulSet vault/vault', 'Service vault/vault-active', 'Service vault/vault-standby', 'Deployment vault/vault-agent-injector'];
/** And those of its audit device and snapshots: the configure Job and its ConfigMap, the snapshot CronJob (their own tests below). */
const FLAVOURED_JOBS = ['Job vault/vault-configure', 'ConfigMap vault/vault-configuration', 'CronJob vault/vault-raft-snapshot'];

const configuration = (objects: Map<string, KubeObject>): Record<string, string> => get(objects, 'ConfigMap vault/vault-configuration').data ?? {};
const configureJob = (objects: Map<string, KubeObject>): PodSpec => {
  const pod = get(objects, 'Job vault/vault-configure').spec?.template?.spec;
  assert.ok(pod);
  return pod;
};
const snapshotContainer = (objects: Map<string, KubeObject>): Container => {
  const c = get(objects, 'CronJob vault/vault-raft-snapshot').spec?.jobTemplate?.spec.template.spec.containers[0];
  assert.ok(c);
  return c;
};

/** A policy's paths and their capabilities (the HCL the shipped policies use: one `capabilities` list per path). */
function policyPaths(hcl: string): Map<string, string[]> {
  const text = hcl.replace(/^\s*#.*$/gm, '');
  const paths = new Map<string, string[]>();
  for (const m of text.matchAll(/path\s+"([^"]+)"\s*\{\s*capabilities\s*=\s*\[([^\]]*)\]\s*\}/g)) {
    paths.set(m[1] ?? '', [...(m[2] ?? '').matchAll(/"([^"]+)"/g)].map((c) => c[1] ?? ''));
  }
  // Every path stanza was understood: none is left over.
  assert.equal(text.match(/\bpath\s+"/g)?.length ?? 0, paths.size, 'every path stanza parsed');
  return paths;
}

/**
 * Runs the configure Job's init container script as shipped on the built ConfigMap's files: the
 * ConfigMap mount and the emptyDir are directories here. Returns what configure would read.
 */
async function assembleConfiguration(script: string, data: Record<string, string>): Promise<{ config: string; policies: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-audit-device-'));
  try {
    const source = join(dir, 'configuration');
    const target = join(dir, 'config');
    mkdirSync(source);
    mkdirSync(target);
    for (const [key, text] of Object.entries(data)) writeFileSync(join(source, key), text);
    // The configuration mount first: /etc/rotor/config is a prefix of it.
    const local = script.replaceAll('/etc/rotor/configuration', source).replaceAll('/etc/rotor/config', target);
    assert.ok(!local.includes('/etc/rotor'), `the script uses only its two mounts:\n${script}`);
    await promisify(execFile)('/bin/sh', ['-ec', local]);
    return { config: readFileSync(join(target, 'config.yaml'), 'utf8'), policies: readdirSync(join(target, 'policies')).sort() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The snapshot script and environment as Vault's CLI reads them: bao -> vault, BAO_ -> VAULT_. */
const vaultCli = (text: string): string => text.replace(/\bbao\b/g, 'vault').replace(/BAO_/g, 'VAULT_');

/** The Vault release testbed/vault/go.mod pins (docs/server-flavours.md: not yet buildable from the module proxy). */
function pinnedVaultVersion(): string {
  const goMod = readFileSync(new URL('../vault/go.mod', import.meta.url), 'utf8');
  const version = /^require github\.com\/hashicorp\/vault v(\S+)$/m.exec(goMod)?.[1];
  assert.ok(version, 'testbed/vault/go.mod requires github.com/hashicorp/vault');
  return version;
}

describe('server flavours as overlays of one base', () => {
  it('openbao: OpenBao servers, BAO_ environment, openbao-active Services, OpenBao\'s agent injected', async () => {
    const objects = await build('openbao');
    const { pod, main } = server(objects);
    assert.match(main.image, /^quay\.io\/openbao\/openbao:/);
    assert.deepEqual(main.command?.slice(0, 2), ['bao', 'server']);
    for (const c of pod.initContainers ?? []) assert.equal(c.image, main.image, `${c.name} runs the server's image`);
    assert.ok(envNames(main).includes('BAO_K8S_POD_NAME') && envNames(main).includes('BAO_ADDR'));
    assert.deepEqual(envNames(main).filter((n) => n.startsWith('VAULT_')), []);
    assert.equal(get(objects, 'Service vault/vault-active').spec?.selector?.['openbao-active'], 'true');
    assert.equal(get(objects, 'Service vault/vault-standby').spec?.selector?.['openbao-active'], 'false');
    assert.equal(agentImage(objects), main.image, 'the injected agent is the server\'s own binary');
  });

  it('hashicorp-vault: Vault servers of the pinned release, VAULT_ environment, vault-active Services, Vault\'s agent injected', async () => {
    const objects = await build('hashicorp-vault');
    const { pod, main } = server(objects);
    assert.equal(main.image, `hashicorp/vault:${pinnedVaultVersion()}`);
    assert.deepEqual(main.command, ['vault', 'server', '-config=/rendered/server.hcl']);
    for (const c of pod.initContainers ?? []) assert.equal(c.image, main.image, `${c.name} runs the server's image`);
    assert.deepEqual(envNames(main).filter((n) => n.startsWith('BAO_')), [], 'no OpenBao setting is left');
    for (const name of ['VAULT_K8S_POD_NAME', 'VAULT_K8S_NAMESPACE', 'VAULT_ADDR', 'VAULT_CACERT']) assert.ok(envNames(main).includes(name), name);
    for (const [service, active] of [['vault-active', 'true'], ['vault-standby', 'false']] as const) {
      const selector = get(objects, `Service vault/${service}`).spec?.selector ?? {};
      assert.equal(selector['vault-active'], active);
      assert.equal(selector['openbao-active'], undefined);
    }
    assert.equal(agentImage(objects), main.image, 'the injected agent is the server\'s own binary');
  });

  it('the server container is named for its role in both, not for a product', async () => {
    for (const overlay of ['openbao', 'hashicorp-vault']) {
      const { main } = server(await build(overlay));
      assert.equal(main.name, 'server', overlay);
    }
  });

  it('hashicorp-vault: the configure job enables the audit device through the API; OpenBao\'s declares it in server.hcl', async () => {
    const [bao, vault] = await Promise.all([build('openbao'), build('hashicorp-vault')]);
    // OpenBao: configure reads config.yaml as shipped (no audit: OpenBao refuses API-enabled devices), server.hcl declares the device.
    assert.deepEqual(configureJob(bao).initContainers ?? [], []);
    assert.equal((parse(configuration(bao)['config.yaml'] ?? '') as Record<string, unknown>).audit, undefined);
    assert.match(get(bao, 'ConfigMap vault/vault-config').data?.['server.hcl'] ?? '', /audit "file" "stdout"/);
    // Vault: the init container's script, run on the built ConfigMap, yields config.yaml plus the device.
    const job = configureJob(vault);
    const [init] = job.initContainers ?? [];
    assert.equal(init?.name, 'audit-device');
    assert.equal(init?.image, get(vault, 'Job vault/vault-configure').spec?.template?.spec.containers[0]?.image, 'the configure image');
    const assembled = await assembleConfiguration(init.args?.[0] ?? '', configuration(vault));
    const config = parse(assembled.config) as Record<string, unknown>;
    const shipped = parse(configuration(bao)['config.yaml'] ?? '') as Record<string, unknown>;
    assert.deepEqual({ ...config, audit: undefined }, { ...shipped, audit: undefined }, 'the rest is config.yaml as shipped');
    assert.deepEqual(config.audit, [{ path: 'stdout', type: 'file', description: 'every request and response, secrets HMACed', options: { file_path: 'stdout', log_raw: 'false' } }]);
    // The entry fits rotor configure's schema (packages/configure/config.schema.json): known keys, a known type.
    const schema = JSON.parse(readFileSync(new URL('../../packages/configure/config.schema.json', import.meta.url), 'utf8')) as {
      properties: { audit: { items: { properties: Record<string, { enum?: string[] }>; required?: string[]; additionalProperties?: boolean } } };
    };
    const entrySchema = schema.properties.audit.items;
    for (const entry of config.audit as Record<string, unknown>[]) {
      for (const key of Object.keys(entry)) assert.ok(key in entrySchema.properties, `audit entry key ${key}`);
      for (const key of entrySchema.required ?? []) assert.ok(key in entry, `audit entry has ${key}`);
      assert.ok(entrySchema.properties.type?.enum?.includes(String(entry.type)));
    }
    // Every policy config.yaml names sits where it names it.
    const named = ((config.policies ?? []) as { file: string }[]).map((p) => p.file.replace(/^policies\//, '')).sort();
    assert.deepEqual(assembled.policies, named);
    // A config.yaml that declared audit: itself would be refused (a duplicate key), not merged.
    const twice = await assembleConfiguration(init.args?.[0] ?? '', { ...configuration(vault), 'config.yaml': `audit: []\n${configuration(vault)['config.yaml'] ?? ''}` });
    assert.throws(() => parse(twice.config), /Map keys must be unique/);
    // configure reads the assembled file in place of the ConfigMap's: the same mount, now the emptyDir.
    assert.deepEqual(
      job.volumes?.filter((v) => v.name === 'config' || v.name === 'configuration'),
      [{ name: 'config', emptyDir: { sizeLimit: '1Mi' } }, { name: 'configuration', configMap: { name: 'vault-configuration' } }],
    );
    // Its policy may enable that device: the base's paths plus sys/audit/stdout, nothing else.
    const basePolicy = policyPaths(configuration(bao)['rotor-configure.hcl'] ?? '');
    const vaultPolicy = policyPaths(configuration(vault)['rotor-configure.hcl'] ?? '');
    assert.ok(basePolicy.has('sys/audit') && basePolicy.has('database/rotate-root/*'), `the base policy read: ${[...basePolicy.keys()].join(', ')}`);
    assert.deepEqual(vaultPolicy.get('sys/audit/stdout'), ['create', 'update', 'delete', 'sudo']);
    vaultPolicy.delete('sys/audit/stdout');
    assert.deepEqual(vaultPolicy, basePolicy);
    // Nothing else of the Job or the ConfigMap differs.
    const baseJob = structuredClone(get(bao, 'Job vault/vault-configure'));
    const vaultJob = structuredClone(get(vault, 'Job vault/vault-configure'));
    const jobSpec = vaultJob.spec?.template?.spec;
    assert.ok(jobSpec);
    delete jobSpec.initContainers;
    jobSpec.volumes = baseJob.spec?.template?.spec.volumes;
    assert.deepEqual(vaultJob, baseJob);
    const { 'audit.yaml': audit, 'rotor-configure.hcl': _vaultPolicy, ...vaultData } = configuration(vault);
    const { 'rotor-configure.hcl': _basePolicy, ...baseData } = configuration(bao);
    assert.ok(audit);
    assert.deepEqual(vaultData, baseData);
  });

  it('hashicorp-vault: the raft snapshot CronJob runs Vault\'s image and CLI with VAULT_ environment, the base\'s script otherwise', async () => {
    const [bao, vault] = await Promise.all([build('openbao'), build('hashicorp-vault')]);
    const [b, v] = [snapshotContainer(bao), snapshotContainer(vault)];
    assert.match(b.image, /^quay\.io\/openbao\/openbao:/);
    assert.equal(v.image, `hashicorp/vault:${pinnedVaultVersion()}`);
    assert.equal(v.image, server(vault).main.image, 'the server\'s image');
    const script = v.args?.[0] ?? '';
    assert.match(script, /vault operator raft snapshot save/);
    assert.doesNotMatch(script, /\bbao\b|BAO_/, 'no OpenBao CLI or setting left');
    assert.equal(script, vaultCli(b.args?.[0] ?? ''), 'word for word the base\'s script with vault/VAULT_');
    assert.deepEqual(envNames(v).filter((n) => n.startsWith('BAO_')), []);
    const values = (c: Container): Record<string, string | undefined> => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
    assert.deepEqual(values(v), Object.fromEntries(Object.entries(values(b)).map(([name, value]) => [vaultCli(name), value])));
    for (const name of ['VAULT_ADDR', 'VAULT_CACERT', 'VAULT_AUTH_ROLE']) assert.ok(envNames(v).includes(name), name);
    // Nothing else of the CronJob differs.
    const strip = (o: KubeObject): KubeObject => {
      const copy = structuredClone(o);
      const c = copy.spec?.jobTemplate?.spec.template.spec.containers[0];
      assert.ok(c);
      c.image = '<server image>';
      delete c.args;
      delete c.env;
      return copy;
    };
    assert.deepEqual(strip(get(vault, 'CronJob vault/vault-raft-snapshot')), strip(get(bao, 'CronJob vault/vault-raft-snapshot')));
  });

  it('the two differ only in the flavoured objects, and there only in image, command, environment and selector', async () => {
    const [bao, vault] = await Promise.all([build('openbao'), build('hashicorp-vault')]);
    assert.deepEqual([...vault.keys()].sort(), [...bao.keys()].sort(), 'the same objects');
    for (const key of bao.keys()) if (!FLAVOURED.includes(key) && !FLAVOURED_JOBS.includes(key)) assert.deepEqual(vault.get(key), bao.get(key), `${key} is the base's`);

    // Undo the flavour's fields on the Vault build: what is left must be the OpenBao build.
    const strip = (o: KubeObject): KubeObject => {
      const copy = structuredClone(o);
      if (copy.spec?.selector) {
        delete copy.spec.selector['openbao-active'];
        delete copy.spec.selector['vault-active'];
      }
      for (const c of [...(copy.spec?.template?.spec.containers ?? []), ...(copy.spec?.template?.spec.initContainers ?? [])]) {
        c.image = '<server image>';
        delete c.command;
        c.env = (c.env ?? []).filter((e) => !/^(BAO|VAULT)_/.test(e.name) && e.name !== 'AGENT_INJECT_VAULT_IMAGE').sort((a, b) => a.name.localeCompare(b.name));
      }
      return copy;
    };
    for (const key of FLAVOURED) assert.deepEqual(strip(get(vault, key)), strip(get(bao, key)), `${key}: nothing else differs`);
  });

  it('deploy/ itself is the OpenBao overlay', async () => {
    const [root, bao] = await Promise.all([kustomizeBuild(deploy), kustomizeBuild(`${deploy}overlays/openbao`)]);
    assert.equal(root, bao);
  });
});
