// Asks Kubernetes to evict this service's own pod through the Eviction API.
// Unlike exiting (which only restarts the container, so an init container would
// not run again), an eviction replaces the pod, and it honours the
// PodDisruptionBudget: the API answers 429 while the budget allows no disruption.
import { request } from 'node:https';
import { readFile } from 'node:fs/promises';

export type EvictionOutcome = 'evicted' | 'blocked-by-budget' | 'pod-gone' | 'failed';

export interface KubernetesAccess {
  /** e.g. https://10.0.0.1:443 */
  apiServer: string;
  tokenPath: string;
  caPath: string;
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** In-cluster access from the standard environment and service-account mount, if present. */
export function inClusterAccess(env: Record<string, string | undefined>): KubernetesAccess | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) return undefined;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return { apiServer: `https://${hostPart}:${port}`, tokenPath: `${SA_DIR}/token`, caPath: `${SA_DIR}/ca.crt` };
}

export async function evictPod(access: KubernetesAccess, pod: { name: string; namespace: string }): Promise<{ outcome: EvictionOutcome; status?: number }> {
  // The projected token rotates: read it at each call, never keep it.
  const [token, ca] = await Promise.all([readFile(access.tokenPath, 'utf8'), readFile(access.caPath)]);
  const ns = encodeURIComponent(pod.namespace);
  const name = encodeURIComponent(pod.name);
  const url = new URL(`/api/v1/namespaces/${ns}/pods/${name}/eviction`, access.apiServer);
  const body = JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod.name, namespace: pod.namespace } });
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', ca, timeout: 10_000, headers: { authorization: `Bearer ${token.trim()}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('eviction request timed out')));
    req.on('error', reject);
    req.end(body);
  });
  if (status === 200 || status === 201) return { outcome: 'evicted', status };
  if (status === 429) return { outcome: 'blocked-by-budget', status };
  if (status === 404) return { outcome: 'pod-gone', status };
  return { outcome: 'failed', status };
}
