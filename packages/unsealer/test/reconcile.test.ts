import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { reconcile, type KeyState, type NodeState, type Plan, type Rejection } from '../src/reconcile.ts';
import type { Timing } from '../src/timing.ts';

const timing: Timing = { resyncMs: 5_000, settleMs: 100, unsealGraceMs: 10_000, persistRetry: { baseDelayMs: 500, maxDelayMs: 30_000 } };
const NOW = 1_000_000;

// Node shapes by the state they are in.
const node = (id: string, state: Partial<NodeState> = {}): NodeState => ({
  id,
  address: `http://${id}:8200`,
  reachable: true,
  initialized: false,
  sealed: true,
  progress: 0,
  threshold: 0,
  active: false,
  ...state,
});
const fresh = (id: string): NodeState => node(id);
const down = (id: string): NodeState => node(id, { reachable: false });
const sealed = (id: string, extra: Partial<NodeState> = {}): NodeState =>
  node(id, { initialized: true, sealed: true, threshold: 3, ...extra });
const standby = (id: string, clusterId = 'c1'): NodeState =>
  node(id, { initialized: true, sealed: false, threshold: 3, clusterId });
const leader = (id: string, clusterId = 'c1'): NodeState =>
  node(id, { initialized: true, sealed: false, threshold: 3, active: true, clusterId });

const none: KeyState = { kind: 'none' };
const stored: KeyState = { kind: 'stored', shares: 5 };

interface Case {
  name: string;
  nodes: NodeState[];
  keys: KeyState;
  rejections?: Rejection[];
  unsealSubmittedAt?: Record<string, number>;
  rootTokenToRevoke?: boolean;
  random?: number;
  expect: Omit<Plan, 'wakeAt'> & { wakeInMs?: number };
}

const join = (id: string, to: string) =>
  ({ kind: 'join', node: id, address: `http://${id}:8200`, leaderAddress: `http://${to}:8200`, reason: 'node-uninitialized' }) as const;
const unseal = (id: string) => ({ kind: 'unseal', node: id, address: `http://${id}:8200`, reason: 'node-sealed' }) as const;
const init = (id: string) => ({ kind: 'initialize', node: id, address: `http://${id}:8200`, reason: 'cluster-uninitialized' }) as const;

const cases: Case[] = [
  // --- bootstrap
  {
    name: 'fresh cluster, no keys: initialize exactly one node, the first by id',
    nodes: [fresh('vault-2'), fresh('vault-0'), fresh('vault-1')],
    keys: none,
    expect: { actions: [init('vault-0')], waits: [], wakeInMs: 100 },
  },
  {
    name: 'fresh cluster with one node unreachable: wait, it could be initialized',
    nodes: [fresh('vault-0'), down('vault-1'), fresh('vault-2')],
    keys: none,
    expect: { actions: [], waits: [{ why: 'node-unreachable', node: 'vault-1' }, { why: 'cluster-partly-unreachable' }], wakeInMs: 5_000 },
  },
  {
    name: 'nothing reachable, no keys: wait',
    nodes: [down('vault-0'), down('vault-1')],
    keys: none,
    expect: { actions: [], waits: [{ why: 'node-unreachable', node: 'vault-0' }, { why: 'node-unreachable', node: 'vault-1' }], wakeInMs: 5_000 },
  },
  {
    name: 'no nodes discovered: nothing to do',
    nodes: [],
    keys: none,
    expect: { actions: [], waits: [], wakeInMs: 5_000 },
  },
  {
    name: 'single-node cluster: initialize it',
    nodes: [fresh('vault-0')],
    keys: none,
    expect: { actions: [init('vault-0')], waits: [], wakeInMs: 100 },
  },
  // --- persisting keys comes first
  {
    name: 'keys only in memory: persist, nothing else, even with sealed and fresh nodes',
    nodes: [sealed('vault-0'), fresh('vault-1'), fresh('vault-2')],
    keys: { kind: 'unpersisted', shares: 5, failures: 0 },
    random: 0,
    expect: { actions: [{ kind: 'persist-keys', reason: 'keys-only-in-memory' }], waits: [], wakeInMs: 250 },
  },
  {
    name: 'keys only in memory after 3 failures: persist with a longer backoff',
    nodes: [sealed('vault-0')],
    keys: { kind: 'unpersisted', shares: 5, failures: 3 },
    random: 0.5,
    expect: { actions: [{ kind: 'persist-keys', reason: 'keys-only-in-memory' }], waits: [], wakeInMs: 3_000 },
  },
  {
    name: 'keys only in memory with a rejection pending: persisting still comes first',
    nodes: [sealed('vault-0')],
    keys: { kind: 'unpersisted', shares: 5, failures: 1 },
    rejections: [{ node: 'vault-0', detail: 'cipher: message authentication failed' }],
    random: 1 - Number.EPSILON,
    expect: { actions: [{ kind: 'persist-keys', reason: 'keys-only-in-memory' }], waits: [], wakeInMs: 999 }, // whole ms below the 1 s ceiling
  },
  // --- unseal and join
  {
    name: 'initialized node sealed, others fresh: unseal it, wait to join the rest',
    nodes: [sealed('vault-0'), fresh('vault-1'), fresh('vault-2')],
    keys: stored,
    expect: { actions: [unseal('vault-0')], waits: [{ why: 'no-unsealed-node-to-join' }], wakeInMs: 100 },
  },
  {
    name: 'leader unsealed, others fresh: join both to the leader',
    nodes: [leader('vault-0'), fresh('vault-1'), fresh('vault-2')],
    keys: stored,
    expect: { actions: [join('vault-1', 'vault-0'), join('vault-2', 'vault-0')], waits: [], wakeInMs: 100 },
  },
  {
    name: 'joined nodes sealed: unseal them',
    nodes: [leader('vault-0'), sealed('vault-1'), sealed('vault-2')],
    keys: stored,
    expect: { actions: [unseal('vault-1'), unseal('vault-2')], waits: [], wakeInMs: 100 },
  },
  {
    name: 'unsealed but no active node yet (election): join to the unsealed one',
    nodes: [fresh('vault-0'), standby('vault-1')],
    keys: stored,
    expect: { actions: [join('vault-0', 'vault-1')], waits: [], wakeInMs: 100 },
  },
  {
    name: 'several unsealed: join to the active one, not the first',
    nodes: [standby('vault-0'), leader('vault-1'), fresh('vault-2')],
    keys: stored,
    expect: { actions: [join('vault-2', 'vault-1')], waits: [], wakeInMs: 100 },
  },
  {
    name: 'sealed follower restarted: unseal only it',
    nodes: [leader('vault-0'), sealed('vault-1'), standby('vault-2')],
    keys: stored,
    expect: { actions: [unseal('vault-1')], waits: [], wakeInMs: 100 },
  },
  {
    name: 'whole cluster restarted, all sealed: unseal all',
    nodes: [sealed('vault-0'), sealed('vault-1'), sealed('vault-2')],
    keys: stored,
    expect: { actions: [unseal('vault-0'), unseal('vault-1'), unseal('vault-2')], waits: [], wakeInMs: 100 },
  },
  {
    name: 'sealed node with unseal progress from an interrupted pass: unseal it',
    nodes: [leader('vault-0'), sealed('vault-1', { progress: 2 })],
    keys: stored,
    expect: { actions: [unseal('vault-1')], waits: [], wakeInMs: 100 },
  },
  {
    name: 'leader down, followers sealed: unseal the followers, report the leader',
    nodes: [down('vault-0'), sealed('vault-1'), sealed('vault-2')],
    keys: stored,
    expect: { actions: [unseal('vault-1'), unseal('vault-2')], waits: [{ why: 'node-unreachable', node: 'vault-0' }], wakeInMs: 100 },
  },
  {
    name: 'joining node got all shares moments ago and is still sealed: do not resend, watch it',
    nodes: [leader('vault-0'), sealed('vault-1'), sealed('vault-2')],
    keys: stored,
    unsealSubmittedAt: { 'vault-1': NOW - 9_999 },
    expect: { actions: [unseal('vault-2')], waits: [{ why: 'unseal-in-progress', node: 'vault-1' }], wakeInMs: 100 },
  },
  {
    name: 'only a pending unseal: no action, but look again soon',
    nodes: [leader('vault-0'), sealed('vault-1')],
    keys: stored,
    unsealSubmittedAt: { 'vault-1': NOW - 1 },
    expect: { actions: [], waits: [{ why: 'unseal-in-progress', node: 'vault-1' }], wakeInMs: 100 },
  },
  {
    name: 'pending unseal older than the grace: submit the shares again',
    nodes: [leader('vault-0'), sealed('vault-1')],
    keys: stored,
    unsealSubmittedAt: { 'vault-1': NOW - 10_000 },
    expect: { actions: [unseal('vault-1')], waits: [], wakeInMs: 100 },
  },
  {
    name: 'all healthy: nothing to do, resync later',
    nodes: [leader('vault-0'), standby('vault-1'), standby('vault-2')],
    keys: stored,
    expect: { actions: [], waits: [], wakeInMs: 5_000 },
  },
  {
    name: 'healthy with one node down: nothing to do, report it',
    nodes: [leader('vault-0'), down('vault-1'), standby('vault-2')],
    keys: stored,
    expect: { actions: [], waits: [{ why: 'node-unreachable', node: 'vault-1' }], wakeInMs: 5_000 },
  },
  {
    name: 'stored keys but every node fresh (data lost): never re-initialize',
    nodes: [fresh('vault-0'), fresh('vault-1')],
    keys: stored,
    expect: { actions: [], waits: [{ why: 'stored-keys-but-no-initialized-node' }], wakeInMs: 5_000 },
  },
  {
    name: 'stored keys, initialized node unreachable, others fresh: no join target, no init',
    nodes: [down('vault-0'), fresh('vault-1')],
    keys: stored,
    expect: {
      actions: [],
      waits: [{ why: 'node-unreachable', node: 'vault-0' }, { why: 'stored-keys-but-no-initialized-node' }],
      wakeInMs: 5_000,
    },
  },
  // --- root token policy "revoke"
  {
    name: 'root token awaiting revocation and an active node: revoke it there, after the other actions',
    nodes: [standby('vault-0'), leader('vault-1'), fresh('vault-2')],
    keys: stored,
    rootTokenToRevoke: true,
    expect: {
      actions: [join('vault-2', 'vault-1'), { kind: 'revoke-root-token', node: 'vault-1', address: 'http://vault-1:8200', reason: 'root-token-policy' }],
      waits: [],
      wakeInMs: 100,
    },
  },
  {
    name: 'root token awaiting revocation, no active node yet: wait for one',
    nodes: [sealed('vault-0'), standby('vault-1')],
    keys: stored,
    rootTokenToRevoke: true,
    expect: { actions: [unseal('vault-0')], waits: [], wakeInMs: 100 },
  },
  {
    name: 'root token awaiting revocation while keys are unpersisted: persist first',
    nodes: [leader('vault-0')],
    keys: { kind: 'unpersisted', shares: 5, failures: 0 },
    rootTokenToRevoke: true,
    random: 0,
    expect: { actions: [{ kind: 'persist-keys', reason: 'keys-only-in-memory' }], waits: [], wakeInMs: 250 },
  },
  // --- alarms
  {
    name: 'cluster initialized but the store is empty: keys are lost, stop',
    nodes: [fresh('vault-0'), sealed('vault-1')],
    keys: none,
    expect: { actions: [], waits: [], alarm: { code: 'keys-missing', node: 'vault-1' } },
  },
  {
    name: 'a node rejected the stored keys: stop',
    nodes: [leader('vault-0'), sealed('vault-1')],
    keys: stored,
    rejections: [{ node: 'vault-1', detail: 'cipher: message authentication failed' }],
    expect: { actions: [], waits: [], alarm: { code: 'wrong-keys', node: 'vault-1', detail: 'cipher: message authentication failed' } },
  },
  {
    name: 'a rejection wins over anything else to do',
    nodes: [sealed('vault-0'), fresh('vault-1')],
    keys: stored,
    rejections: [{ node: 'vault-0', detail: 'error decrypting challenge' }],
    expect: { actions: [], waits: [], alarm: { code: 'wrong-keys', node: 'vault-0', detail: 'error decrypting challenge' } },
  },
  {
    name: 'sealed node needs more shares than the store holds: another cluster, stop',
    nodes: [sealed('vault-0', { threshold: 4 })],
    keys: { kind: 'stored', shares: 3 },
    expect: { actions: [], waits: [], alarm: { code: 'wrong-keys', node: 'vault-0', detail: 'the node needs 4 shares, the store holds 3' } },
  },
  {
    name: 'unsealed nodes with different cluster ids: stop',
    nodes: [leader('vault-0', 'c1'), standby('vault-1', 'c2'), sealed('vault-2')],
    keys: stored,
    expect: { actions: [], waits: [], alarm: { code: 'split-cluster', nodes: ['vault-0', 'vault-1'] } },
  },
  {
    name: 'unreachable nodes never raise alarms',
    nodes: [down('vault-0'), sealed('vault-1')],
    keys: stored,
    expect: { actions: [unseal('vault-1')], waits: [{ why: 'node-unreachable', node: 'vault-0' }], wakeInMs: 100 },
  },
];

describe('reconcile', () => {
  for (const c of cases) {
    it(c.name, () => {
      const plan = reconcile({
        nodes: c.nodes,
        keys: c.keys,
        rejections: c.rejections ?? [],
        unsealSubmittedAt: c.unsealSubmittedAt ?? {},
        rootTokenToRevoke: c.rootTokenToRevoke ?? false,
        now: NOW,
        random: c.random ?? 0.5,
        timing,
      });
      const { wakeInMs, ...expected } = c.expect;
      assert.deepEqual(
        { actions: plan.actions, waits: plan.waits, alarm: plan.alarm },
        { alarm: undefined, ...expected },
      );
      assert.equal(plan.wakeAt, wakeInMs === undefined ? undefined : NOW + wakeInMs);
    });
  }

  it('never plans initialize while any node is initialized or keys exist', () => {
    const states = [fresh, down, sealed, standby, leader];
    const keyStates: KeyState[] = [none, stored, { kind: 'unpersisted', shares: 5, failures: 0 }];
    for (const a of states)
      for (const b of states)
        for (const c of states)
          for (const keys of keyStates) {
            const nodes = [a('n0'), b('n1'), c('n2')];
            const plan = reconcile({ nodes, keys, rejections: [], unsealSubmittedAt: {}, rootTokenToRevoke: false, now: NOW, random: 0, timing });
            const inits = plan.actions.filter((x) => x.kind === 'initialize');
            const allowed = keys.kind === 'none' && nodes.every((n) => n.reachable && !n.initialized);
            assert.equal(inits.length, allowed ? 1 : 0, `${nodes.map((n) => JSON.stringify(n)).join()} ${keys.kind}`);
            // An alarm never comes with actions, and a plan without alarm always wakes.
            if (plan.alarm) assert.deepEqual([plan.actions, plan.wakeAt], [[], undefined]);
            else assert.ok(plan.wakeAt !== undefined && plan.wakeAt > NOW);
          }
  });
});
