import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { NodeState } from './reconcile.ts';

/** Prometheus metrics of one unsealer. Labels are node ids and action kinds, never secrets. */
export class UnsealerMetrics {
  readonly #reachable: Gauge<'node'>;
  readonly #initialized: Gauge<'node'>;
  readonly #sealed: Gauge<'node'>;
  readonly #active: Gauge<'node'>;
  readonly #leading: Gauge;
  readonly #paused: Gauge;
  readonly #actions: Counter<'action' | 'outcome'>;
  readonly #passes: Counter<'result'>;
  readonly #unsealSeconds: Histogram;

  constructor(registry: Registry) {
    const registers = [registry];
    const nodeGauge = (name: string, help: string): Gauge<'node'> => new Gauge({ name, help, labelNames: ['node'], registers });
    this.#reachable = nodeGauge('rotor_unsealer_node_reachable', 'Whether the node answered the last pass (1) or not (0).');
    this.#initialized = nodeGauge('rotor_unsealer_node_initialized', 'Whether the node is initialized (1) or not (0).');
    this.#sealed = nodeGauge('rotor_unsealer_node_sealed', 'Whether the node is sealed (1) or not (0).');
    this.#active = nodeGauge('rotor_unsealer_node_active', 'Whether the node is the active node, the raft leader (1) or not (0).');
    this.#leading = new Gauge({ name: 'rotor_unsealer_leading', help: 'Whether this unsealer holds the election (1) or not (0).', registers });
    this.#paused = new Gauge({
      name: 'rotor_unsealer_paused',
      help: 'Whether the operator\'s pause switch holds this unsealer back from acting (1) or not (0); 1 also while the switch is unread.',
      registers,
    });
    this.#actions = new Counter({
      name: 'rotor_unsealer_actions_total',
      help: 'Actions carried out, by kind and outcome.',
      labelNames: ['action', 'outcome'],
      registers,
    });
    this.#passes = new Counter({ name: 'rotor_unsealer_passes_total', help: 'Reconcile passes, by result.', labelNames: ['result'], registers });
    this.#unsealSeconds = new Histogram({
      name: 'rotor_unsealer_unseal_seconds',
      help: 'Time from a node first seen reachable and sealed to unsealed.',
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers,
    });
  }

  observeNodes(nodes: readonly NodeState[]): void {
    for (const n of nodes) {
      this.#reachable.set({ node: n.id }, n.reachable ? 1 : 0);
      if (!n.reachable) continue;
      this.#initialized.set({ node: n.id }, n.initialized ? 1 : 0);
      this.#sealed.set({ node: n.id }, n.sealed ? 1 : 0);
      this.#active.set({ node: n.id }, n.active ? 1 : 0);
    }
  }

  leading(yes: boolean): void {
    this.#leading.set(yes ? 1 : 0);
  }

  paused(yes: boolean): void {
    this.#paused.set(yes ? 1 : 0);
  }

  action(action: string, outcome: 'ok' | 'failed' | 'rejected' | 'pending'): void {
    this.#actions.inc({ action, outcome });
  }

  pass(result: 'acted' | 'idle' | 'paused' | 'follower' | 'alarm' | 'failed'): void {
    this.#passes.inc({ result });
  }

  unsealed(seconds: number): void {
    this.#unsealSeconds.observe(seconds);
  }
}
