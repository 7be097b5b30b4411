// The environment an init-container pod needs to leave before its credentials
// expire: when (EXPIRY_EXIT_*) and which pod to evict (downward API).
import type { EnvReader } from './env-reader.ts';

export interface ExpiryExitConfig {
  leadMs: number;
  jitterMs: number;
}

export interface PodIdentity {
  name: string;
  namespace: string;
}

/** Leave at most EXPIRY_EXIT_LEAD_MS plus up to EXPIRY_EXIT_JITTER_MS before expiry (5 min each by default). */
export function readExpiryExitConfig(env: EnvReader): ExpiryExitConfig {
  return {
    leadMs: env.integer('EXPIRY_EXIT_LEAD_MS', 5 * 60_000, 0, 24 * 3_600_000),
    jitterMs: env.integer('EXPIRY_EXIT_JITTER_MS', 5 * 60_000, 0, 24 * 3_600_000),
  };
}

/** POD_NAME and POD_NAMESPACE (downward API), both or neither; undefined outside Kubernetes. */
export function readPodIdentity(env: EnvReader): PodIdentity | undefined {
  const name = env.optional('POD_NAME');
  const namespace = env.optional('POD_NAMESPACE');
  if ((name === undefined) !== (namespace === undefined)) {
    env.problems.push('POD_NAME and POD_NAMESPACE must be set together (from the downward API)');
  }
  return name !== undefined && namespace !== undefined ? { name, namespace } : undefined;
}
