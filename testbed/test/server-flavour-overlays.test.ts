// deploy/overlays/openbao and deploy/overlays/hashicorp-vault, built by the real kustomize:
// one base, each overlay running its own server and injecting that server's agent, and
// the Vault component changing nothing but what differs between the two servers.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
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
  env?: EnvVar[];
}
interface KubeObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: {
    selector?: Record<string, string>;
    template?: { spec: { containers: Container[]; initContainers?: Container[] } };
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

  it('the two differ only in the flavoured objects, and there only in image, command, environment and selector', async () => {
    const [bao, vault] = await Promise.all([build('openbao'), build('hashicorp-vault')]);
    assert.deepEqual([...vault.keys()].sort(), [...bao.keys()].sort(), 'the same objects');
    for (const key of bao.keys()) if (!FLAVOURED.includes(key)) assert.deepEqual(vault.get(key), bao.get(key), `${key} is the base's`);

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
