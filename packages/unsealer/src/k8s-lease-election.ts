import { V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { UnsealerError, UnsealerErrorCode } from './errors.ts';
import {
  checkElectionTiming,
  decideLease,
  defaultRenewDeadlineMs,
  observeLease,
  withinRenewDeadline,
  type LeaderElection,
  type LeaseObservation,
  type LeaseRecord,
} from './election.ts';
import { kubeError, kubeStatus } from './k8s.ts';

export interface KubernetesLeaseOptions {
  namespace: string;
  name: string;
  /** Usually the pod name. */
  identity: string;
  /** Default 15 s; must outlast the resync interval, since every pass renews. */
  leaseSeconds?: number;
  /** A leader that has not renewed for this long stops acting. Default 2/3 of the lease (10 s of 15 s). */
  renewDeadlineSeconds?: number;
  /** This instance's clock; only differences of its readings are used. */
  now?: () => number;
}

/** The lease as the shared rules see it; its version is the whole spec, as client-go compares records. */
export function leaseRecord(lease: V1Lease): LeaseRecord | undefined {
  const spec = lease.spec;
  if (!spec?.holderIdentity) return undefined;
  const renewed = spec.renewTime ?? spec.acquireTime;
  return {
    holder: spec.holderIdentity,
    renewedAt: renewed ? new Date(renewed).getTime() : 0,
    durationMs: (spec.leaseDurationSeconds ?? 0) * 1000,
    version: JSON.stringify([spec.holderIdentity, spec.leaseDurationSeconds, timeText(spec.acquireTime), timeText(spec.renewTime), spec.leaseTransitions]),
  };
}

function timeText(t: Date | string | undefined): string | undefined {
  return t === undefined ? undefined : new Date(t).toISOString();
}

/**
 * Leader election on a coordination.k8s.io Lease. Writes carry the
 * resourceVersion read, so of two replicas racing for a stale lease the API
 * server lets exactly one through (409 for the other). Expiry is judged on
 * this instance's own clock from when it last saw the record change, never
 * from the holder's renewTime; leadership ends at the renew deadline.
 */
export class KubernetesLeaseElection implements LeaderElection {
  readonly description: string;
  readonly #api: CoordinationV1Api;
  readonly #options: KubernetesLeaseOptions;
  readonly #now: () => number;
  readonly #leaseSeconds: number;
  readonly #renewDeadlineMs: number;
  #observed: LeaseObservation | undefined;
  /** Our clock when the last successful acquire or renewal began. */
  #renewStartedAt: number | undefined;

  constructor(api: CoordinationV1Api, options: KubernetesLeaseOptions) {
    this.#api = api;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#leaseSeconds = options.leaseSeconds ?? 15;
    this.#renewDeadlineMs = options.renewDeadlineSeconds !== undefined ? options.renewDeadlineSeconds * 1000 : defaultRenewDeadlineMs(this.#leaseSeconds * 1000);
    const problem = checkElectionTiming(this.#leaseSeconds * 1000, this.#renewDeadlineMs);
    if (problem) throw new UnsealerError(UnsealerErrorCode.CONFIG, `Lease ${options.namespace}/${options.name}: ${problem}`);
    this.description = `Lease ${options.namespace}/${options.name}`;
  }

  isLeading(): boolean {
    return withinRenewDeadline(this.#renewStartedAt, this.#renewDeadlineMs, this.#now());
  }

  async tryAcquire(): Promise<boolean> {
    const { namespace, name, identity } = this.#options;
    const started = this.#now();
    let lease: V1Lease | undefined;
    try {
      lease = await this.#api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (kubeStatus(err) !== 404) throw kubeError(UnsealerErrorCode.ELECTION, `${this.description}: read`, err);
    }
    const now = this.#now();
    this.#observed = observeLease(this.#observed, lease && leaseRecord(lease), now);
    const decision = decideLease(this.#observed, identity, now);
    if (decision === 'held-by-other') {
      this.#renewStartedAt = undefined;
      return false;
    }
    const transitions = (lease?.spec?.leaseTransitions ?? 0) + (decision === 'renew' ? 0 : 1);
    const body: V1Lease = {
      metadata: { name, namespace, resourceVersion: lease?.metadata?.resourceVersion },
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds: this.#leaseSeconds,
        acquireTime: decision === 'renew' ? lease?.spec?.acquireTime : new V1MicroTime(now),
        renewTime: new V1MicroTime(now),
        leaseTransitions: transitions,
      },
    };
    let written: V1Lease;
    try {
      written = lease ? await this.#api.replaceNamespacedLease({ name, namespace, body }) : await this.#api.createNamespacedLease({ namespace, body });
    } catch (err) {
      if (kubeStatus(err) === 409) {
        // Another replica wrote first: whatever we believed, we do not lead now.
        this.#renewStartedAt = undefined;
        return false;
      }
      // Unknown outcome: keep the last known renewal; the renew deadline ends leadership if this persists.
      throw kubeError(UnsealerErrorCode.ELECTION, `${this.description}: write`, err);
    }
    this.#observed = observeLease(this.#observed, leaseRecord(written), this.#now());
    this.#renewStartedAt = started;
    return true;
  }

  async release(): Promise<void> {
    const { namespace, name, identity } = this.#options;
    this.#renewStartedAt = undefined;
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
