import { kubeOk, kubeRequest, serviceAccountToken, type KubeTarget } from './kube.ts';
import { waitFor } from './wait.ts';

export interface KubernetesAuthObjectsOptions {
  /** The app's ServiceAccount object (e.g. taken from a manifest); default: a bare app/app-auth. */
  appServiceAccount?: object;
  signal?: AbortSignal;
}

/**
 * The cluster objects Vault's kubernetes auth relies on, as the seed's install has
 * them: namespaces app and vault, service accounts app/app-auth and vault/vault, and
 * vault bound to system:auth-delegator. Resolves with a reviewer JWT for vault/vault
 * once the binding is in effect (RBAC serves from an informer cache, so it lags).
 */
export async function createKubernetesAuthObjects(
  kube: KubeTarget,
  options: KubernetesAuthObjectsOptions = {},
): Promise<{ reviewerJwt: string }> {
  const create = (path: string, body: object): Promise<unknown> => kubeOk(kube, 'POST', path, body);
  for (const name of ['app', 'vault']) await create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  await create('/api/v1/namespaces/app/serviceaccounts', options.appServiceAccount ?? { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'app-auth' } });
  await create('/api/v1/namespaces/vault/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'vault' } });
  await create('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'vault-token-reviewer' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
    subjects: [{ kind: 'ServiceAccount', name: 'vault', namespace: 'vault' }],
  });
  const reviewerJwt = await serviceAccountToken(kube, 'vault', 'vault');
  const review = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: reviewerJwt } };
  await waitFor(
    'vault/vault to be allowed TokenReview',
    async () =>
      (await kubeRequest(kube, 'POST', '/apis/authentication.k8s.io/v1/tokenreviews', review, { token: reviewerJwt })).status === 201
        ? true
        : undefined,
    { timeoutMs: 30_000, ...(options.signal ? { signal: options.signal } : {}) },
  );
  return { reviewerJwt };
}
