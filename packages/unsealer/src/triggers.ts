// Triggers start a pass before the regular resync is due.
import { VaultClient } from '@rotor/vault-client';
import type { NodeTarget } from './discovery.ts';

export interface Trigger {
  /** `fire` asks for a pass (the runner coalesces); `onError` reports trouble. */
  start(fire: (why: string) => void, onError: (err: unknown) => void): void;
  /** Leaves no timer, socket or request behind. */
  stop(): Promise<void>;
}

export interface SealProbeOptions {
  /** Default 250 ms: the wait between a node's restart and its unseal. */
  intervalMs?: number;
  /** Bound of each probe request. Default 1 s. */
  timeoutMs?: number;
  /** PEM bundle trusted for https nodes. */
  caCert?: string | undefined;
}

/** A node's seal state as a probe sees it, or "down". */
export type ProbeState = 'down' | 'uninitialized' | 'sealed' | 'unsealed';

export function probeState(answer: { initialized: boolean; sealed: boolean } | undefined): ProbeState {
  if (!answer) return 'down';
  if (!answer.initialized) return 'uninitialized';
  return answer.sealed ? 'sealed' : 'unsealed';
}

/**
 * Polls each known node's (unauthenticated, cheap) seal-status and fires when
 * a node changes state: it came back, restarted sealed, got initialized. A
 * restart between two probes still shows as unsealed -> sealed.
 */
export class SealProbeTrigger implements Trigger {
  readonly #targets: () => readonly NodeTarget[];
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #last = new Map<string, ProbeState>();
  readonly #clients = new Map<string, VaultClient>();
  readonly #caCert: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #abort: AbortController | undefined;
  #round: Promise<void> | undefined;

  constructor(targets: () => readonly NodeTarget[], options: SealProbeOptions = {}) {
    this.#targets = targets;
    this.#intervalMs = options.intervalMs ?? 250;
    this.#timeoutMs = options.timeoutMs ?? 1_000;
    this.#caCert = options.caCert;
  }

  start(fire: (why: string) => void): void {
    const abort = new AbortController();
    this.#abort = abort;
    const tick = (): void => {
      this.#round = this.#probeAll(abort.signal, fire).finally(() => {
        if (!abort.signal.aborted) this.#timer = setTimeout(tick, this.#intervalMs);
      });
    };
    this.#timer = setTimeout(tick, this.#intervalMs);
  }

  async stop(): Promise<void> {
    this.#abort?.abort();
    clearTimeout(this.#timer);
    await this.#round;
    clearTimeout(this.#timer);
  }

  async #probeAll(signal: AbortSignal, fire: (why: string) => void): Promise<void> {
    const targets = this.#targets();
    const states = await Promise.all(targets.map((t) => this.#probe(t, signal)));
    if (signal.aborted) return;
    const changes: string[] = [];
    targets.forEach((target, i) => {
      const state = states[i] ?? 'down';
      const before = this.#last.get(target.id);
      this.#last.set(target.id, state);
      if (before !== undefined && before !== state) changes.push(`${target.id} ${before} -> ${state}`);
    });
    if (changes.length > 0) fire(changes.join(', '));
  }

  async #probe(target: NodeTarget, signal: AbortSignal): Promise<ProbeState> {
    let client = this.#clients.get(target.address);
    if (!client) {
      client = new VaultClient({ address: target.address, timeoutMs: this.#timeoutMs, retry: { attempts: 1 }, ...(this.#caCert !== undefined ? { caCert: this.#caCert } : {}) });
      this.#clients.set(target.address, client);
    }
    try {
      const { body } = await client.exchange('GET', 'sys/seal-status', { signal });
      return probeState(body as { initialized: boolean; sealed: boolean });
    } catch {
      return 'down';
    }
  }
}
