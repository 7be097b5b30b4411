import { Watch, type KubeConfig } from '@kubernetes/client-node';

export interface ReopeningWatchOptions<T> {
  /** e.g. /api/v1/namespaces/vault/pods */
  path: string;
  /** labelSelector, fieldSelector... */
  query: Record<string, string>;
  onEvent: (phase: string, object: T) => void;
  /** A watch that failed or ended with an error (it is re-opened anyway). */
  onError: (err: unknown) => void;
  /** Called on every (re-)open before the watch starts: a read here covers the gap. */
  onOpen?: () => void;
  /** Wait before re-opening an ended watch. Default 1 s. */
  reopenMs?: number;
}

/**
 * A watch that is re-opened whenever the API server ends it (they do, every few minutes),
 * after a pause rather than in a tight loop: the unsealer's periodic resync covers a gap.
 */
export class ReopeningWatch<T> {
  readonly #config: KubeConfig;
  readonly #options: ReopeningWatchOptions<T>;
  #abort: AbortController | undefined;
  #reopen: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(config: KubeConfig, options: ReopeningWatchOptions<T>) {
    this.#config = config;
    this.#options = options;
  }

  start(): void {
    const { path, query, onEvent, onError, onOpen, reopenMs = 1_000 } = this.#options;
    const reopenLater = (err: unknown): void => {
      if (this.#stopped) return;
      if (err) onError(err);
      this.#reopen = setTimeout(open, reopenMs);
    };
    const open = (): void => {
      this.#reopen = undefined;
      if (this.#stopped) return;
      onOpen?.();
      new Watch(this.#config)
        .watch(path, query, onEvent, reopenLater)
        .then((abort) => {
          if (this.#stopped) abort.abort();
          else this.#abort = abort;
        })
        .catch(reopenLater);
    };
    open();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#reopen);
    this.#abort?.abort();
    this.#abort = undefined;
  }
}
