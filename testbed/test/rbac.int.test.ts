// Who may read the secrets of the vault namespace, asked of a real kube-apiserver with RBAC:
// the service accounts and Roles exactly as deploy/ ships them, each account calling the API
// with its own TokenRequest token. The injector reads only its certificate Secret, never the
// unseal keys, the envelope key or the bootstrap password; the unsealer only its keys Secret;
// the configure Job no Secret at all (it logs in to Vault with its token, not a stored one).
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { kubeOk, kubeRequest, serviceAccountToken, startKubeApiserver, waitFor, type KubeApiserver } from '../src/index.ts';

const SHIPPED = ['deploy/vault/injector.yaml', 'deploy/unsealer/unsealer.yaml', 'deploy/configure/job.yaml'];
const RBAC_KINDS = new Set(['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']);

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
}

function collectionPath(m: Manifest): string {
  switch (m.kind) {
    case 'ServiceAccount':
      return `/api/v1/namespaces/${m.metadata.namespace ?? ''}/serviceaccounts`;
    case 'Role':
    case 'RoleBinding':
      return `/apis/rbac.authorization.k8s.io/v1/namespaces/${m.metadata.namespace ?? ''}/${m.kind.toLowerCase()}s`;
    default:
      return `/apis/rbac.authorization.k8s.io/v1/${m.kind.toLowerCase()}s`;
  }
}

const SECRETS = ['vault-unseal-keys', 'vault-unseal-envelope-key', 'postgres-bootstrap', 'injector-certs'];

describe('RBAC of deploy/: the unseal keys and the envelope key stay out of the injector\'s reach', { timeout: 180_000 }, () => {
  let kube: KubeApiserver;
  const tokens = new Map<string, string>();
  const outcomes: string[] = [];

  /** The status the API answers `account` for one request, recorded with its message. */
  async function ask(account: string, method: string, path: string): Promise<number> {
    const res = await kubeRequest<{ message?: string }>(kube, method, path, undefined, { token: tokens.get(account) ?? assert.fail(account) });
    outcomes.push(`${account} ${method} ${path} -> ${res.status}${res.status === 403 ? `: ${res.body.message ?? ''}` : ''}`);
    return res.status;
  }

  before(async () => {
    kube = await startKubeApiserver();
    await kubeOk(kube, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'vault' } });
    const root = new URL('../../', import.meta.url);
    for (const file of SHIPPED) {
      for (const doc of parseAllDocuments(readFileSync(new URL(file, root), 'utf8'))) {
        const m = doc.toJS() as Manifest | null;
        if (m && RBAC_KINDS.has(m.kind)) await kubeOk(kube, 'POST', collectionPath(m), m);
      }
    }
    for (const name of SECRETS) {
      await kubeOk(kube, 'POST', '/api/v1/namespaces/vault/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: { value: `not-${name}` } });
    }
    for (const account of ['vault-agent-injector', 'vault-unsealer', 'vault-configure']) tokens.set(account, await serviceAccountToken(kube, 'vault', account));
    // RBAC is served from an informer cache: wait until the shipped grants are in effect.
    await waitFor('the injector\'s Role to be in effect', async () => ((await ask('vault-agent-injector', 'GET', '/api/v1/namespaces/vault/secrets/injector-certs')) === 200 ? true : undefined), {
      timeoutMs: 30_000,
    });
  });

  after(async () => {
    console.log(outcomes.map((o) => `# ${o}`).join('\n'));
    await kube?.stop();
  });

  it('the injector: its own certificate Secret by name (get, list and watch with a name selector); no other Secret, no plain list or watch', async () => {
    const secrets = '/api/v1/namespaces/vault/secrets';
    assert.equal(await ask('vault-agent-injector', 'GET', `${secrets}/injector-certs`), 200);
    assert.equal(await ask('vault-agent-injector', 'GET', `${secrets}?fieldSelector=metadata.name%3Dinjector-certs`), 200);
    for (const name of ['vault-unseal-keys', 'vault-unseal-envelope-key', 'postgres-bootstrap']) {
      assert.equal(await ask('vault-agent-injector', 'GET', `${secrets}/${name}`), 403, `the injector must not read ${name}`);
    }
    assert.equal(await ask('vault-agent-injector', 'GET', secrets), 403, 'no plain list of Secrets');
    assert.equal(await ask('vault-agent-injector', 'GET', `${secrets}?watch=true&timeoutSeconds=1`), 403, 'no plain watch of Secrets');
    assert.equal(await ask('vault-agent-injector', 'GET', `${secrets}?fieldSelector=metadata.name%3Dvault-unseal-keys`), 403, 'no list by another name');
    assert.equal(await ask('vault-agent-injector', 'PUT', `${secrets}/vault-unseal-keys`), 403, 'no update of the keys');
  });

  it('the unsealer reads only its keys Secret (the envelope key reaches it as a volume, not through the API)', async () => {
    const secrets = '/api/v1/namespaces/vault/secrets';
    assert.equal(await ask('vault-unsealer', 'GET', `${secrets}/vault-unseal-keys`), 200);
    for (const name of ['vault-unseal-envelope-key', 'postgres-bootstrap', 'injector-certs']) assert.equal(await ask('vault-unsealer', 'GET', `${secrets}/${name}`), 403);
    assert.equal(await ask('vault-unsealer', 'GET', secrets), 403);
  });

  it('the configure Job reads no Secret through the API', async () => {
    for (const name of SECRETS) assert.equal(await ask('vault-configure', 'GET', `/api/v1/namespaces/vault/secrets/${name}`), 403);
  });
});
