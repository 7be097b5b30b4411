import type { CoreV1Api, KubeConfig, V1Pod } from '@kubernetes/client-node';
import { UnsealerErrorCode } from './errors.ts';
import type { NodeDiscovery, NodeTarget } from './discovery.ts';
import { kubeError } from './k8s.ts';
import { ReopeningWatch } from './k8s-watch.ts';
import type { Trigger } from './triggers.ts';

export interface PodDiscoveryOptions {
  namespace: string;
  /** e.g. "app.kubernetes.io/name=vault,component=server" */
  labelSelector: string;
  /** Default http. */
  scheme?: 'http' | 'https';
  /** Default 8200. */
  port?: number;
  /**
   * Address each pod by its stable DNS name `<pod>.<dnsService>.<namespace>.svc` (the StatefulSet's
   * headless service) instead of its IP: for TLS, where certificates name the pods, not their IPs.
   */
  dnsService?: string;
}

/**
 * Pods that can be talked to, by pod IP: running, not being deleted. Pure, so
 * the selection rules are unit-tested without an API server.
 */
export function podTargets(pods: readonly V1Pod[], options: Pick<PodDiscoveryOptions, 'scheme' | 'port' | 'dnsService'>): NodeTarget[] {
  const scheme = options.scheme ?? 'http';
  const port = options.port ?? 8200;
  return pods
    .filter((p) => p.metadata?.name && p.status?.podIP && p.status.phase === 'Running' && !p.metadata.deletionTimestamp)
    .map((p) => {
      const ip = p.status?.podIP ?? '';
      // Still only pods with an IP: a name resolves to nothing before the pod has one.
      const host = options.dnsService !== undefined ? `${p.metadata?.name ?? ''}.${options.dnsService}.${p.metadata?.namespace ?? ''}.svc` : ip.includes(':') ? `[${ip}]` : ip;
      return { id: p.metadata?.name ?? ip, address: `${scheme}://${host}:${port}` };
    })
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Vault pods selected by label, addressed by pod IP (the way raft peers see each other). */
export class KubernetesPodDiscovery implements NodeDiscovery {
  readonly description: string;
  readonly #api: CoreV1Api;
  readonly #options: PodDiscoveryOptions;

  constructor(api: CoreV1Api, options: PodDiscoveryOptions) {
    this.#api = api;
    this.#options = options;
    this.description = `pods ${options.namespace}/${options.labelSelector}`;
  }

  async list(): Promise<NodeTarget[]> {
    try {
      const pods = await this.#api.listNamespacedPod({ namespace: this.#options.namespace, labelSelector: this.#options.labelSelector });
      return podTargets(pods.items, this.#options);
    } catch (err) {
      throw kubeError(UnsealerErrorCode.DISCOVERY, `list ${this.description}`, err);
    }
  }
}

/**
 * Fires a pass on every change of a selected pod (started, became ready, got
 * an IP, restarted). The watch is re-opened when the server ends it.
 */
export class PodWatchTrigger implements Trigger {
  readonly #config: KubeConfig;
  readonly #options: PodDiscoveryOptions;
  #watch: ReopeningWatch<V1Pod> | undefined;

  constructor(config: KubeConfig, options: PodDiscoveryOptions) {
    this.#config = config;
    this.#options = options;
  }

  start(fire: (why: string) => void, onError: (err: unknown) => void): void {
    this.#watch = new ReopeningWatch<V1Pod>(this.#config, {
      path: `/api/v1/namespaces/${encodeURIComponent(this.#options.namespace)}/pods`,
      query: { labelSelector: this.#options.labelSelector },
      onEvent: (phase, pod) => fire(`pod ${pod.metadata?.name ?? '?'} ${phase.toLowerCase()}`),
      onError: (err) => onError(kubeError(UnsealerErrorCode.DISCOVERY, `watch ${this.#options.labelSelector}`, err)),
    });
    this.#watch.start();
  }

  stop(): Promise<void> {
    this.#watch?.stop();
    return Promise.resolve();
  }
}
