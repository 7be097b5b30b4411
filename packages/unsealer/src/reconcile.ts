// The unsealer's decision step: observed nodes + key-store state -> ordered
// actions, each with the reason it is needed, and when to look again. Pure: the
// clock and randomness come in as inputs, I/O lives in the drivers.
import { backoffDelay } from '@rotor/vault-client';
import type { Timing } from './timing.ts';

/** What one pass saw of a node. */
export interface NodeState {
  /** Stable name: a pod name, or the address in static mode. */
  id: string;
  /** API address, e.g. http://10.0.0.5:8200 */
  address: string;
  reachable: boolean;
  initialized: boolean;
  sealed: boolean;
  /** Key shares the node has accepted towards its current unseal. */
  progress: number;
  /** Shares its seal needs (0 while uninitialized). */
  threshold: number;
  /** The active node of the HA cluster (the raft leader). */
  active: boolean;
  /** Reported by unsealed nodes only. */
  clusterId?: string;
}

/** Where the unseal keys are. The decision never needs the keys themselves. */
export type KeyState =
  | { kind: 'none' }
  | { kind: 'stored'; shares: number }
  /** Init succeeded but persisting failed: the only copy is in memory. */
  | { kind: 'unpersisted'; shares: number; failures: number };

/** A node that refused the stored keys in an earlier pass. */
export interface Rejection {
  node: string;
  /** Vault's own words, e.g. "cipher: message authentication failed" (never a key). */
  detail: string;
}

export interface ReconcileInput {
  nodes: readonly NodeState[];
  keys: KeyState;
  rejections: readonly Rejection[];
  /**
   * When all shares were last submitted to a node that stayed sealed: a node
   * joining raft unseals only after it has fetched the leader's data.
   */
  unsealSubmittedAt: Readonly<Record<string, number>>;
  /** Root-token policy "revoke": the in-memory root token awaits revocation. */
  rootTokenToRevoke: boolean;
  now: number;
  /** In [0, 1), for jitter. */
  random: number;
  timing: Timing;
}

export type Action =
  | { kind: 'persist-keys'; reason: 'keys-only-in-memory' }
  | { kind: 'initialize'; node: string; address: string; reason: 'cluster-uninitialized' }
  | { kind: 'unseal'; node: string; address: string; reason: 'node-sealed' }
  | { kind: 'join'; node: string; address: string; leaderAddress: string; reason: 'node-uninitialized' }
  | { kind: 'revoke-root-token'; node: string; address: string; reason: 'root-token-policy' };

/** Why a pass that has nothing to do (for some node) is waiting. */
export type Wait =
  | { why: 'node-unreachable'; node: string }
  | { why: 'cluster-partly-unreachable' }
  | { why: 'no-unsealed-node-to-join' }
  | { why: 'unseal-in-progress'; node: string }
  | { why: 'stored-keys-but-no-initialized-node' };

/** Conditions the unsealer must not act through: it stops and raises them. */
export type Alarm =
  | { code: 'wrong-keys'; node: string; detail: string }
  | { code: 'split-cluster'; nodes: string[] }
  | { code: 'keys-missing'; node: string };

export interface Plan {
  actions: Action[];
  waits: Wait[];
  /** Set when the unsealer must stop; then there are no actions and no wake. */
  alarm?: Alarm;
  /** When the next pass should run at the latest (absolute, ms). */
  wakeAt?: number;
}

const byId = (a: NodeState, b: NodeState): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export function reconcile(input: ReconcileInput): Plan {
  const { keys, timing, now } = input;
  const nodes = [...input.nodes].sort(byId);

  // The init response is the only copy of the keys: store them before anything else.
  if (keys.kind === 'unpersisted') {
    return {
      actions: [{ kind: 'persist-keys', reason: 'keys-only-in-memory' }],
      waits: [],
      wakeAt: now + backoffDelay(keys.failures, input.random, timing.persistRetry),
    };
  }

  const alarm = findAlarm(nodes, keys, input.rejections);
  if (alarm) return { actions: [], waits: [], alarm };

  const reachable = nodes.filter((n) => n.reachable);
  const waits: Wait[] = nodes.filter((n) => !n.reachable).map((n) => ({ why: 'node-unreachable', node: n.id }));
  const actions: Action[] = [];

  if (keys.kind === 'none') {
    // No node is initialized (findAlarm saw to that). Only with every known node
    // in sight can we be sure none is, so only then initialize, and only one.
    const first = reachable[0];
    if (first && reachable.length === nodes.length) {
      actions.push({ kind: 'initialize', node: first.id, address: first.address, reason: 'cluster-uninitialized' });
    } else if (first) {
      waits.push({ why: 'cluster-partly-unreachable' });
    }
  } else {
    for (const node of reachable) {
      if (!node.initialized || !node.sealed) continue;
      const submittedAt = input.unsealSubmittedAt[node.id];
      if (submittedAt !== undefined && now - submittedAt < timing.unsealGraceMs) {
        waits.push({ why: 'unseal-in-progress', node: node.id });
      } else {
        actions.push({ kind: 'unseal', node: node.id, address: node.address, reason: 'node-sealed' });
      }
    }
    const uninitialized = reachable.filter((n) => !n.initialized);
    if (uninitialized.length > 0) {
      const target = joinTarget(reachable);
      if (target) {
        for (const node of uninitialized) {
          actions.push({
            kind: 'join',
            node: node.id,
            address: node.address,
            leaderAddress: target.address,
            reason: 'node-uninitialized',
          });
        }
      } else if (reachable.some((n) => n.initialized)) {
        waits.push({ why: 'no-unsealed-node-to-join' });
      } else {
        // The store says a cluster existed, yet no node has its data: never
        // initialize over stored keys, an operator must look.
        waits.push({ why: 'stored-keys-but-no-initialized-node' });
      }
    }
    const active = reachable.find((n) => n.active && !n.sealed);
    if (input.rootTokenToRevoke && active) {
      actions.push({ kind: 'revoke-root-token', node: active.id, address: active.address, reason: 'root-token-policy' });
    }
  }

  // After acting, look again soon: a join is followed by its unseal, an unseal
  // by the joins it makes possible; a pending unseal is watched until it lands.
  const following = actions.length > 0 || waits.some((w) => w.why === 'unseal-in-progress');
  const delay = following ? timing.settleMs : timing.resyncMs;
  return { actions, waits, wakeAt: now + delay };
}

/** Joins go to the active node, else to any unsealed initialized one. */
function joinTarget(nodes: readonly NodeState[]): NodeState | undefined {
  const unsealed = nodes.filter((n) => n.initialized && !n.sealed);
  return unsealed.find((n) => n.active) ?? unsealed[0];
}

function findAlarm(nodes: readonly NodeState[], keys: KeyState, rejections: readonly Rejection[]): Alarm | undefined {
  const reachable = nodes.filter((n) => n.reachable);
  if (keys.kind === 'none') {
    const initialized = reachable.find((n) => n.initialized);
    return initialized ? { code: 'keys-missing', node: initialized.id } : undefined;
  }
  const rejection = rejections[0];
  if (rejection) return { code: 'wrong-keys', node: rejection.node, detail: rejection.detail };
  const short = reachable.find((n) => n.initialized && n.sealed && n.threshold > keys.shares);
  if (short) {
    return { code: 'wrong-keys', node: short.id, detail: `the node needs ${short.threshold} shares, the store holds ${keys.shares}` };
  }
  const clusterIds = new Set(reachable.flatMap((n) => (n.clusterId === undefined ? [] : [n.clusterId])));
  if (clusterIds.size > 1) {
    return { code: 'split-cluster', nodes: reachable.filter((n) => n.clusterId !== undefined).map((n) => n.id) };
  }
  return undefined;
}
