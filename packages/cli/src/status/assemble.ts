// Pure: merges what the nodes say of themselves, sys/ha-status and the raft
// configuration into one line per node, and names what needs attention.
import type { HaNode, NodeObservation, NodeReport, NodeState, RaftPeer } from './model.ts';

export interface AssembleInput {
  /** Nodes named on the command line or discovered as pods: id and API address. */
  targets: ReadonlyArray<{ id: string; address: string }>;
  ha?: readonly HaNode[];
  raft?: readonly RaftPeer[];
  observations: ReadonlyMap<string, NodeObservation>;
}

export function normalizeAddress(address: string): string {
  return address.replace(/\/+$/, '').toLowerCase();
}

function hostOf(address: string): string {
  const withScheme = address.includes('://') ? address : `tcp://${address}`;
  try {
    return new URL(withScheme).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return address;
  }
}

function hostPortOf(address: string): string {
  const withScheme = address.includes('://') ? address : `tcp://${address}`;
  try {
    const url = new URL(withScheme);
    return `${url.hostname}:${url.port}`;
  } catch {
    return address;
  }
}

function stateOf(o: NodeObservation | undefined): NodeState {
  if (!o) return 'unknown';
  if (!o.reachable) return 'unreachable';
  if (o.initialized === false) return 'uninitialized';
  if (o.sealed) return 'sealed';
  return o.active ? 'active' : 'standby';
}

interface Entry {
  id: string;
  address: string;
  clusterAddress?: string;
}

/** One line per node; raft peers without a known address get a line too. */
export function assembleNodes(input: AssembleInput): NodeReport[] {
  const entries: Entry[] = [];
  const byAddress = new Map<string, Entry>();
  const add = (entry: Entry): void => {
    const key = normalizeAddress(entry.address);
    const known = byAddress.get(key);
    if (known) {
      known.clusterAddress ??= entry.clusterAddress;
      return;
    }
    byAddress.set(key, entry);
    entries.push(entry);
  };
  for (const t of input.targets) add({ id: t.id, address: t.address });
  // A hostname names a node only when unique (pods: yes; processes on one machine: no).
  const hostnames = (input.ha ?? []).map((h) => h.hostname);
  const unique = (name: string | undefined): name is string => name !== undefined && hostnames.filter((n) => n === name).length === 1;
  for (const h of input.ha ?? []) add({ id: unique(h.hostname) ? h.hostname : h.apiAddress, address: h.apiAddress, ...(h.clusterAddress ? { clusterAddress: h.clusterAddress } : {}) });

  const reports: NodeReport[] = [];
  const matched = new Set<Entry>();
  const hostCount = new Map<string, number>();
  for (const e of entries) hostCount.set(hostOf(e.address), (hostCount.get(hostOf(e.address)) ?? 0) + 1);

  const raftOf = new Map<Entry, RaftPeer>();
  for (const peer of input.raft ?? []) {
    const peerHost = hostOf(peer.address);
    const entry =
      entries.find((e) => !matched.has(e) && e.id === peer.nodeId) ??
      entries.find((e) => !matched.has(e) && e.clusterAddress !== undefined && hostPortOf(e.clusterAddress) === hostPortOf(peer.address)) ??
      // Same host (a pod IP) for API and raft: only when that host is unambiguous.
      entries.find((e) => !matched.has(e) && hostOf(e.address) === peerHost && hostCount.get(peerHost) === 1);
    if (entry) {
      matched.add(entry);
      raftOf.set(entry, peer);
    } else {
      reports.push({ id: peer.nodeId, state: 'unknown', raft: { ...peer } });
    }
  }

  const nodes: NodeReport[] = entries.map((e) => {
    const o = input.observations.get(normalizeAddress(e.address));
    const peer = raftOf.get(e);
    const state = stateOf(o);
    return {
      id: peer?.nodeId ?? e.id,
      address: e.address,
      state,
      ...(state === 'sealed' && o?.threshold ? { unsealProgress: `${o.progress ?? 0}/${o.threshold}` } : {}),
      ...(o?.version ? { version: o.version } : {}),
      ...(o?.error ? { error: o.error } : {}),
      ...(input.raft ? { raft: peer ? { ...peer } : null } : {}),
    };
  });
  return [...nodes, ...reports];
}

/** What needs attention in the nodes; an empty list is a healthy cluster. */
export function nodeProblems(nodes: readonly NodeReport[], raftRead: boolean): string[] {
  const problems: string[] = [];
  for (const n of nodes) {
    if (n.state === 'unreachable') problems.push(`${n.id} is unreachable${n.error ? ` (${n.error})` : ''}`);
    else if (n.state === 'sealed') problems.push(`${n.id} is sealed${n.unsealProgress ? ` (unseal ${n.unsealProgress})` : ''}`);
    else if (n.state === 'uninitialized') problems.push(`${n.id} is not initialized`);
    else if (n.state === 'unknown') problems.push(`${n.id} (raft ${n.raft?.address ?? '?'}) has no known API address and sends no heartbeat: sealed or down? name it with --nodes or --k8s-*`);
    if (raftRead && n.raft === null && (n.state === 'active' || n.state === 'standby')) problems.push(`${n.id} is not in the raft configuration`);
    if (n.raft && !n.raft.voter) problems.push(`${n.id} is a raft non-voter (autopilot promotes a joined node once it has been stable for a while)`);
  }
  const active = nodes.filter((n) => n.state === 'active');
  if (nodes.length > 0 && active.length === 0) problems.push('no active node');
  if (active.length > 1) problems.push(`several active nodes: ${active.map((n) => n.id).join(', ')}`);
  return problems;
}
