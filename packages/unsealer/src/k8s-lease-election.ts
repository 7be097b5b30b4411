import { V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { UnsealerErrorCode } from './errors.ts';
import { decideLease, type LeaderElection, type LeaseRecord } from './election.ts';
import { kubeError, kubeStatus } from './k8s.ts';

export interface KubernetesLeaseOptions {
  namespace: string;
  name: string;
  /** Usually the pod name. */
  identity: string;
  /** Default 15 s; must outlast the resync interval, since every pass renews. */
  leaseSeconds?: number;
  now?: () => number;
}

/** The lease as the shared rule sees it. */
export function leaseRecord(lease: V1Lease): LeaseRecord | undefined {
  const spec = lease.spec;
  if (!spec?.holderIdentity) return undefined;
  const renewed = spec.renewTime ?? spec.acquireTime;
  return {
    holder: spec.holderIdentity,
    renewedAt: renewed ? new Date(renewed).getTime() : 0,
    durationMs: (spec.leaseDurationSeconds ?? 0) * 1000,
  };
}

/**
 * Leader election on a coordination.k8s.io Lease. Writes carry the
 * resourceVersion read, so of two replicas racing for a stale lease the API
 * server lets exactly one through (409 for the other).
 */
export class KubernetesLeaseElection implements LeaderElection {
  readonly description: string;
  readonly #api: CoordinationV1Api;
  readonly #options: KubernetesLeaseOptions;
  readonly #now: () => number;

  constructor(api: CoordinationV1Api, options: KubernetesLeaseOptions) {
    this.#api = api;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.description = `Lease ${options.namespace}/${options.name}`;
  }

  async tryAcquire(): Promise<boolean> {
    const { namespace, name, identity } = this.#options;
    let lease: V1Lease | undefined;
    try {
      lease = await this.#api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (kubeStatus(err) !== 404) throw kubeError(UnsealerErrorCode.election, `${this.description}: read`, err);
    }
    const now = this.#now();
    const decision = decideLease(lease && leaseRecord(lease), identity, now);
    if (decision === 'held-by-other') return false;
    const transitions = (lease?.spec?.leaseTransitions ?? 0) + (decision === 'renew' ? 0 : 1);
    const body: V1Lease = {
      metadata: { name, namespace, resourceVersion: lease?.metadata?.resourceVersion },
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds: this.#options.leaseSeconds ?? 15,
        acquireTime: decision === 'renew' ? lease?.spec?.acquireTime : new V1MicroTime(now),
        renewTime: new V1MicroTime(now),
        leaseTransitions: transitions,
      },
    };
    try {
      if (lease) await this.#api.replaceNamespacedLease({ name, namespace, body });
      else await this.#api.createNamespacedLease({ namespace, body });
      return true;
    } catch (err) {
      if (kubeStatus(err) === 409) return false; // another replica wrote first
      throw kubeError(UnsealerErrorCode.election, `${this.description}: write`, err);
    }
  }

  async release(): Promise<void> {
    const { namespace, name, identity } = this.#options;
    try {
      const lease = await this.#api.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== identity) return;
      const spec = { ...lease.spec, holderIdentity: '', renewTime: undefined };
      await this.#api.replaceNamespacedLease({ name, namespace, body: { ...lease, spec } });
    } catch {
      // Best effort: an unreleased lease simply expires.
    }
  }
}
