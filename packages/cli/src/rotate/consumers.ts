// Who consumes a database role, read from the pod specs: the agent injector's
// annotations (init container or sidecar) and users-api's environment (direct
// mode). Pure: the pods come in, the census goes out.
import type { V1Pod } from '@kubernetes/client-node';

export type ConsumerMode = 'direct' | 'sidecar' | 'init-container';

export interface Consumer {
  namespace: string;
  pod: string;
  /** e.g. ReplicaSet users-api-5d9c..., when the pod has an owner. */
  owner?: string;
  mode: ConsumerMode;
  createdAt?: Date;
}

const INJECT = 'vault.hashicorp.com/agent-inject';
const PRE_POPULATE_ONLY = 'vault.hashicorp.com/agent-pre-populate-only';
const SECRET_PREFIX = 'vault.hashicorp.com/agent-inject-secret-';
const TEMPLATE_PREFIX = 'vault.hashicorp.com/agent-inject-template-';

/** The service kit's defaults (packages/db-credentials/src/service-kit/credential-modes.ts). */
const DEFAULT_DB_MOUNT = 'database';
const DEFAULT_DB_ROLE = 'db-reader-role';

function agentReadsRole(annotations: Record<string, string>, path: string): boolean {
  return Object.entries(annotations).some(
    ([key, value]) => (key.startsWith(SECRET_PREFIX) && value.trim() === path) || (key.startsWith(TEMPLATE_PREFIX) && value.includes(`secret "${path}"`)),
  );
}

function directReadsRole(pod: V1Pod, mount: string, role: string): boolean {
  return (pod.spec?.containers ?? []).some((c) => {
    const env = new Map((c.env ?? []).map((e) => [e.name, e.value]));
    return env.get('CREDENTIALS_MODE') === 'vault' && (env.get('VAULT_DB_MOUNT') ?? DEFAULT_DB_MOUNT) === mount && (env.get('VAULT_DB_ROLE') ?? DEFAULT_DB_ROLE) === role;
  });
}

/** The pods that read `<mount>/creds/<role>`, and how. */
export function consumersOf(pods: readonly V1Pod[], mount: string, role: string): Consumer[] {
  const path = `${mount}/creds/${role}`;
  const out: Consumer[] = [];
  for (const pod of pods) {
    const annotations = pod.metadata?.annotations ?? {};
    let mode: ConsumerMode | undefined;
    if (annotations[INJECT] === 'true' && agentReadsRole(annotations, path)) mode = annotations[PRE_POPULATE_ONLY] === 'true' ? 'init-container' : 'sidecar';
    else if (directReadsRole(pod, mount, role)) mode = 'direct';
    if (!mode) continue;
    const owner = pod.metadata?.ownerReferences?.[0];
    const created = pod.metadata?.creationTimestamp;
    out.push({
      namespace: pod.metadata?.namespace ?? '',
      pod: pod.metadata?.name ?? '',
      mode,
      ...(owner ? { owner: `${owner.kind} ${owner.name}` } : {}),
      ...(created ? { createdAt: new Date(created) } : {}),
    });
  }
  return out;
}
