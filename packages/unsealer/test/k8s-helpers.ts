// Shared by the Kubernetes integration tests: the shipped manifests as objects,
// clients for a service account, and pods that stand in for the vault StatefulSet.
import { readFileSync, writeFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { kubeOk, type KubeApiserver } from '@rotor/testbed';

const deployDir = new URL('../../../deploy/', import.meta.url);

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** The objects of one file under deploy/, so a test proves the shipped YAML, not a copy. */
export function manifest(path: string): KubeObject[] {
  return parseAllDocuments(readFileSync(new URL(path, deployDir), 'utf8')).map((d) => d.toJS() as KubeObject);
}

export function findObject(objects: readonly KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in the manifest`);
  return found;
}

/** REST collection path of a namespaced core/RBAC object. */
export function collectionPath(object: KubeObject): string {
  const ns = object.metadata.namespace ?? 'default';
  const plural = `${object.kind.toLowerCase()}s`;
  const group = object.apiVersion === 'v1' ? '/api/v1' : `/apis/${object.apiVersion}`;
  return `${group}/namespaces/${ns}/${plural}`;
}

export async function createObject(kube: KubeApiserver, object: KubeObject): Promise<void> {
  await kubeOk(kube, 'POST', collectionPath(object), object);
}

function kubeconfigOf(kube: KubeApiserver, user: string, token: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'testbed', cluster: { server: kube.url, 'certificate-authority-data': Buffer.from(kube.caCert).toString('base64') } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'testbed', context: { cluster: 'testbed', user } }],
    'current-context': 'testbed',
  };
}

/** A client configuration that acts as the given bearer token (a service account's). */
export function kubeConfigFor(kube: KubeApiserver, user: string, token: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromString(JSON.stringify(kubeconfigOf(kube, user, token)));
  return config;
}

/** The same as a file (mode 0600), for a subprocess's $KUBECONFIG. */
export function writeKubeconfig(file: string, kube: KubeApiserver, user: string, token: string): void {
  writeFileSync(file, JSON.stringify(kubeconfigOf(kube, user, token)), { mode: 0o600 });
}

/**
 * A pod object with the given labels. No kubelet runs here, so the image is
 * never pulled; the status is what a kubelet would report, written by the test.
 */
export async function createPod(kube: KubeApiserver, namespace: string, name: string, labels: Record<string, string>): Promise<void> {
  await kubeOk(kube, 'POST', `/api/v1/namespaces/${namespace}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: {
      serviceAccountName: 'vault',
      automountServiceAccountToken: false,
      containers: [{ name: 'openbao', image: 'quay.io/openbao/openbao:2.4.0' }],
    },
  });
}

/** Reports the pod running and ready at `ip`, as a kubelet does; `restarts` bumps the container's restart count. */
export async function reportPodRunning(kube: KubeApiserver, namespace: string, name: string, ip: string, restarts = 0): Promise<void> {
  const now = new Date().toISOString();
  await kubeOk(
    kube,
    'PATCH',
    `/api/v1/namespaces/${namespace}/pods/${name}/status`,
    {
      status: {
        phase: 'Running',
        podIP: ip,
        podIPs: [{ ip }],
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }],
        containerStatuses: [
          { name: 'openbao', image: 'quay.io/openbao/openbao:2.4.0', imageID: '', ready: true, restartCount: restarts, started: true, state: { running: { startedAt: now } } },
        ],
      },
    },
    { contentType: 'application/merge-patch+json' },
  );
}
