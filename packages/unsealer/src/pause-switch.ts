// The operator's pause switch: while it is on, the unsealer initializes, joins
// and unseals nothing (it keeps observing and reporting), so that a manual raft
// recovery (peers.json, docs/operations.md) is not fought by a daemon that
// unseals whatever it sees sealed.
import type { CoreV1Api, KubeConfig, V1ConfigMap } from '@kubernetes/client-node';
import { UnsealerErrorCode } from './errors.ts';
import { kubeError, kubeStatus } from './k8s.ts';
import { ReopeningWatch } from './k8s-watch.ts';

/** The switch as last read: undefined until the first successful read. */
export type PauseState = boolean | undefined;

export interface PauseSwitch {
  readonly description: string;
  /** true paused, false not; undefined while unknown (never read): the unsealer then does not act. */
  paused(): PauseState;
  /** Reads the switch now (e.g. at the start of a pass); keeps the last state when the read fails. */
  refresh(signal?: AbortSignal): Promise<PauseState>;
  /** Starts following the switch; `changed` is called whenever its state changes (`before` undefined: the first read). */
  start(changed: (paused: boolean, before: PauseState) => void, onError: (err: unknown) => void): void;
  stop(): Promise<void>;
}

/** The data key of the ConfigMap switch. */
export const PAUSED_KEY = 'paused';

/**
 * The switch's value from the ConfigMap's data. No ConfigMap, no key or "false":
 * not paused. "true": paused. Anything else is read as paused: whoever wrote it
 * meant something, and a wrong pause is safer than a wrong unseal during a recovery.
 */
export function pausedFromConfigMap(configMap: Pick<V1ConfigMap, 'data'> | undefined): boolean {
  const value = configMap?.data?.[PAUSED_KEY]?.trim().toLowerCase();
  return value !== undefined && value !== 'false';
}

export interface ConfigMapPauseOptions {
  namespace: string;
  name: string;
  /** Wait before re-opening an ended watch. Default 1 s. */
  reopenMs?: number;
}

/**
 * A ConfigMap key (`paused: "true"`), followed with a watch on that one object
 * (RBAC: get and watch on it by name, nothing else) and read again at every pass,
 * so a lost watch costs at most one resync. Not shipped with the manifests: an
 * absent ConfigMap means "not paused", and `kubectl apply` of the manifests
 * (or a GitOps sync) can then never undo an operator's pause.
 */
export class ConfigMapPauseSwitch implements PauseSwitch {
  readonly description: string;
  readonly #api: CoreV1Api;
  readonly #config: KubeConfig;
  readonly #options: ConfigMapPauseOptions;
  #state: PauseState;
  #changed: ((paused: boolean, before: PauseState) => void) | undefined;
  #watch: ReopeningWatch<V1ConfigMap> | undefined;

  constructor(api: CoreV1Api, config: KubeConfig, options: ConfigMapPauseOptions) {
    this.#api = api;
    this.#config = config;
    this.#options = options;
    this.description = `configmap ${options.namespace}/${options.name} key "${PAUSED_KEY}"`;
  }

  paused(): PauseState {
    return this.#state;
  }

  async refresh(): Promise<PauseState> {
    const { namespace, name } = this.#options;
    try {
      this.#set(pausedFromConfigMap(await this.#api.readNamespacedConfigMap({ namespace, name })));
    } catch (err) {
      if (kubeStatus(err) !== 404) throw kubeError(UnsealerErrorCode.CONFIG, `read ${this.description}`, err);
      this.#set(false);
    }
    return this.#state;
  }

  start(changed: (paused: boolean, before: PauseState) => void, onError: (err: unknown) => void): void {
    this.#changed = changed;
    const { namespace, name } = this.#options;
    this.#watch = new ReopeningWatch<V1ConfigMap>(this.#config, {
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`,
      query: { fieldSelector: `metadata.name=${name}` },
      onEvent: (phase, object) => this.#set(phase === 'DELETED' ? false : pausedFromConfigMap(object)),
      onError: (err) => onError(kubeError(UnsealerErrorCode.CONFIG, `watch ${this.description}`, err)),
      // Read, then watch: the watch reports changes from now on, the read covers the gap.
      onOpen: () => void this.refresh().catch(onError),
      ...(this.#options.reopenMs !== undefined ? { reopenMs: this.#options.reopenMs } : {}),
    });
    this.#watch.start();
  }

  stop(): Promise<void> {
    this.#watch?.stop();
    return Promise.resolve();
  }

  #set(paused: boolean): void {
    const before = this.#state;
    this.#state = paused;
    if (before !== paused) this.#changed?.(paused, before);
  }
}
