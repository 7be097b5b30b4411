// What `rotor status` reports: plain data, printed as text or as JSON.

/** One node as seen through its own API (sys/seal-status and sys/health, no token needed). */
export interface NodeObservation {
  address: string;
  reachable: boolean;
  /** Why it could not be asked (network error, timeout), never a secret. */
  error?: string;
  initialized?: boolean;
  sealed?: boolean;
  /** Unseal key shares accepted so far, and needed. */
  progress?: number;
  threshold?: number;
  /** The active node (raft leader) answers sys/health with 200. */
  active?: boolean;
  version?: string;
  clusterName?: string;
  clusterId?: string;
}

/** An entry of sys/ha-status: the nodes that heartbeat to the active node (unsealed ones). */
export interface HaNode {
  hostname?: string;
  apiAddress: string;
  clusterAddress?: string;
  activeNode: boolean;
  version?: string;
}

/** An entry of sys/storage/raft/configuration. */
export interface RaftPeer {
  nodeId: string;
  /** host:port of the raft/cluster listener. */
  address: string;
  leader: boolean;
  voter: boolean;
}

export type NodeState = 'active' | 'standby' | 'sealed' | 'uninitialized' | 'unreachable' | 'unknown';

export interface NodeReport {
  id: string;
  /** API address; absent for a raft peer nobody could name an address for. */
  address?: string;
  state: NodeState;
  /** "2/3": shares accepted towards an unseal in progress. */
  unsealProgress?: string;
  version?: string;
  error?: string;
  /** The node's raft membership: null when the configuration does not list it, absent when unknown. */
  raft?: { nodeId: string; address: string; leader: boolean; voter: boolean } | null;
}

export interface UnsealerReport {
  /** Its health endpoint, when given. */
  url?: string;
  reachable?: boolean;
  healthy?: boolean;
  /** running / halted / stopped, from /healthz. */
  state?: string;
  /** The alarm that halted it, e.g. wrong-keys. */
  detail?: string;
  /** rotor_unsealer_leading from /metrics: whether this instance holds the election. */
  leading?: boolean;
  /** Only when the unsealer reports a pause switch in /healthz; unknown otherwise. */
  paused?: boolean;
  lease?: { name: string; holder?: string; renewedSecondsAgo?: number; durationSeconds?: number; expired: boolean };
  error?: string;
}

export interface DriftReport {
  config: string;
  /** False when the check could not run (error says why). */
  checked: boolean;
  inSync?: boolean;
  resources?: number;
  changes?: Array<{ op: string; id: string; reason?: string }>;
  error?: string;
}

export interface StatusReport {
  cluster: { address?: string; clusterName?: string; clusterId?: string; version?: string; leader?: string; raftRead: boolean; note?: string };
  nodes: NodeReport[];
  unsealer?: UnsealerReport;
  drift?: DriftReport;
  /** Findings that need attention; empty means healthy (exit 0), else exit 7. */
  problems: string[];
}
