// Kubernetes auth against a real kube-apiserver (built by `testbed/build.sh kube`):
// namespaces app and vault, service account app-auth for the service, service
// account vault bound to system:auth-delegator for OpenBao's TokenReview calls.
// No kubelet runs here, so the demo obtains the app-auth token through the
// TokenRequest API exactly as a kubelet would for a projected volume.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createKubernetesAuthObjects, kubeBinary, serviceAccountToken, startKubeApiserver, type KubeApiserver } from '@rotor/testbed';
import type { DemoContext } from './context.ts';
import { seconds } from './narrator.ts';

export interface KubeAuth {
  kube: KubeApiserver;
  /** JWT of vault/vault, for auth/kubernetes/config token_reviewer_jwt. */
  reviewerJwt: string;
  /** File holding app/app-auth's token, like /var/run/secrets/kubernetes.io/serviceaccount/token. */
  appTokenFile: string;
}

/** Whether the kube testbed binary is built (it is not part of `npm run demo`'s setup). */
export function kubeAvailable(): boolean {
  try {
    kubeBinary();
    return true;
  } catch {
    return false;
  }
}

/** Starts the apiserver early (it takes the longest to start); the demo awaits it in step 3. */
export function startKube(ctx: DemoContext): Promise<KubeApiserver> {
  const starting = startKubeApiserver();
  // Awaited in step 3; until then a start failure must not count as unhandled.
  starting.catch(() => undefined);
  ctx.teardown.add('kube-apiserver', async () => {
    const kube = await starting.catch(() => undefined);
    await kube?.stop();
  });
  return starting;
}

export async function kubernetesAuth(ctx: DemoContext, starting: Promise<KubeApiserver>): Promise<KubeAuth> {
  const { narrator, secrets, dir, signal } = ctx;
  narrator.step(3, 'Vault Admin', 'Kubernetes service accounts for Vault\'s kubernetes auth');
  const waited = performance.now();
  const kube = await starting;
  narrator.info(`kube-apiserver (real, on a real etcd) at ${kube.url}${performance.now() - waited > 500 ? `, ready after another ${seconds(performance.now() - waited)}` : ''}`);
  const { reviewerJwt } = await createKubernetesAuthObjects(kube, { signal });
  secrets.add('reviewer JWT', reviewerJwt);
  narrator.info('namespaces app, vault; service accounts app/app-auth, vault/vault; vault bound to system:auth-delegator');
  narrator.check(true, 'vault/vault may call TokenReview (the reviewer JWT comes from the TokenRequest API)');

  const appToken = await serviceAccountToken(kube, 'app', 'app-auth', { expirationSeconds: 3600 });
  secrets.add('app-auth JWT', appToken);
  const appTokenFile = join(dir, 'app-auth.token');
  writeFileSync(appTokenFile, appToken, { mode: 0o600 });
  narrator.check(true, 'app/app-auth token issued through TokenRequest, written like a projected volume', `(${appTokenFile})`);
  return { kube, reviewerJwt, appTokenFile };
}
