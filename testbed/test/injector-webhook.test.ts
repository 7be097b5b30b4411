// The injector model as an HTTPS admission webhook: what the API server sends and gets back.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import {
  MODELLED_INJECTOR_IMAGE,
  SERVICE_ACCOUNT_MOUNT_PATH,
  freePort,
  generateWebhookCertificates,
  injectorOptionsFromEnv,
  review,
  startInjectorWebhook,
  type InjectorOptions,
  type InjectorWebhook,
  type Pod,
  type WebhookCertificates,
} from '../src/index.ts';

const injectorManifest = new URL('../../deploy/vault/injector.yaml', import.meta.url);

interface Deployment {
  kind: string;
  metadata: { name: string };
  spec: { template: { spec: { containers: { image: string; env: { name: string; value?: string }[] }[] } } };
}

function injectorDeployment(): Deployment {
  const docs = parseAllDocuments(readFileSync(injectorManifest, 'utf8')).map((d) => d.toJSON() as Deployment);
  const found = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'vault-agent-injector');
  assert.ok(found, 'deploy/vault/injector.yaml has the injector Deployment');
  return found;
}

function options(): InjectorOptions {
  return injectorOptionsFromEnv(injectorDeployment().spec.template.spec.containers[0]?.env ?? []);
}

function annotatedPod(mountToken = true): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'users-api-',
      annotations: {
        'vault.hashicorp.com/agent-inject': 'true',
        'vault.hashicorp.com/agent-pre-populate-only': 'true',
        'vault.hashicorp.com/role': 'app-creds-reader-role',
        'vault.hashicorp.com/agent-inject-secret-db-creds.json': 'database/creds/db-reader-role',
      },
    },
    spec: {
      initContainers: [{ name: 'migrate', image: 'app' }],
      containers: [
        {
          name: 'app',
          image: 'app',
          volumeMounts: mountToken ? [{ name: 'kube-api-access-abc', mountPath: SERVICE_ACCOUNT_MOUNT_PATH, readOnly: true }] : [],
        },
      ],
    },
  };
}

const admissionReview = (pod: Pod): Record<string, unknown> => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: { uid: 'u-1', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'app', operation: 'CREATE', object: pod },
});

describe('the agent injector model', () => {
  it('follows the injector image that deploy/ runs', () => {
    assert.equal(injectorDeployment().spec.template.spec.containers[0]?.image, MODELLED_INJECTOR_IMAGE);
  });

  it('takes the agent resources and the default template from the injector env', () => {
    const o = options();
    assert.deepEqual(o.resources, { requests: { cpu: '50m', memory: '32Mi' }, limits: { cpu: '500m', memory: '64Mi' } });
    assert.equal(o.defaultTemplate, 'json');
  });

  it('patches in the agent with token_path, the JSON default template, and the secrets in app init containers', () => {
    const answer = review(admissionReview(annotatedPod()), options());
    assert.equal(answer.allowed, true);
    assert.equal(answer.uid, 'u-1');
    const patch = JSON.parse(Buffer.from(answer.patch ?? '', 'base64').toString('utf8')) as { op: string; path: string; value: Pod['spec'] }[];
    const spec = patch.find((p) => p.path === '/spec')?.value;
    assert.ok(spec);
    const init = spec.initContainers ?? [];
    assert.deepEqual(init.map((c) => c.name), ['migrate', 'vault-agent-init'], 'the agent runs after the app init containers');
    assert.ok(init[0]?.volumeMounts?.some((m) => m.mountPath === '/vault/secrets'), 'app init containers see the secrets');
    const agent = init[1];
    assert.deepEqual(agent?.resources, { requests: { cpu: '50m', memory: '32Mi' }, limits: { cpu: '500m', memory: '64Mi' } });
    const config = JSON.parse(Buffer.from(String(agent?.env?.find((e) => e.name === 'VAULT_CONFIG')?.value), 'base64').toString('utf8')) as {
      auto_auth: { method: { config: Record<string, string> } };
      template: { contents: string }[];
    };
    assert.equal(config.auto_auth.method.config.token_path, `${SERVICE_ACCOUNT_MOUNT_PATH}/token`);
    assert.match(config.template[0]?.contents ?? '', /\.Data \| toJSON/);
  });

  it('refuses a pod without a service account token, and lets unannotated pods through untouched', () => {
    const refused = review(admissionReview(annotatedPod(false)), options());
    assert.equal(refused.allowed, false);
    assert.match(refused.status?.message ?? '', /no service account token mounted/);
    const plain = annotatedPod();
    plain.metadata.annotations = {};
    assert.deepEqual(review(admissionReview(plain), options()), { uid: 'u-1', allowed: true });
  });
});

describe('the agent injector webhook over HTTPS', () => {
  let certs: WebhookCertificates;
  let webhook: InjectorWebhook;
  let port: number;
  const logged: Record<string, unknown>[] = [];

  before(async () => {
    certs = await generateWebhookCertificates(['vault-agent-injector-svc.vault.svc', 'localhost']);
    port = await freePort('127.0.0.1');
    webhook = await startInjectorWebhook({ host: '127.0.0.1', port, tls: certs, options: options(), log: (l) => logged.push(l) });
  });
  after(async () => {
    await webhook.close();
  });

  const post = (path: string, body: unknown, ca: string): Promise<{ status: number; body: Record<string, unknown> }> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method: 'POST', servername: 'localhost', ca, headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
      });
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });

  it('answers an AdmissionReview with a patch, over TLS that verifies against its own CA', async () => {
    const res = await post('/mutate', admissionReview(annotatedPod()), certs.ca);
    assert.equal(res.status, 200);
    assert.equal((res.body.response as { allowed: boolean }).allowed, true);
    assert.deepEqual(logged.at(-1), { msg: 'mutated pod', namespace: 'app', pod: 'users-api-' });
  });

  it('is refused by a client that trusts another CA', async () => {
    const other = await generateWebhookCertificates(['localhost']);
    await assert.rejects(post('/mutate', admissionReview(annotatedPod()), other.ca), /self.signed|unable to verify|certificate/i);
  });

  it('answers a body that is not JSON with 400', async () => {
    const res = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/mutate', method: 'POST', servername: 'localhost', ca: certs.ca }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('{not json');
    });
    assert.equal(res, 400);
  });
});
