// What the host looked like before the node started, kept in a lock file under
// /run: the lock keeps a second node from starting, and after a crash the file
// tells cleanupStaleNode() what to restore. /run is cleared at boot, like the
// iptables rules, links and mounts it describes.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { TestbedError } from '../errors.ts';

export const STATE_DIR = '/run/rotor-testbed-node';
export const STATE_FILE = `${STATE_DIR}/node.json`;

/**
 * Host paths that Kubernetes components create whatever their flags say: the
 * kubelet's /var/log/containers, libcni's cache, containerd's shim sockets.
 * Teardown deletes the ones that did not exist and, in the others, what is new.
 */
export const TRACKED_HOST_PATHS = [
  '/var/log/containers',
  '/var/log/pods',
  '/var/lib/cni',
  '/var/lib/cni/results',
  '/var/lib/kubelet',
  '/var/lib/containerd',
  '/var/lib/kube-router',
  '/run/containerd',
  '/run/containerd/s',
  '/run/containerd/fifo',
  '/run/netns',
  '/run/nri',
  '/run/xtables.lock',
  '/etc/cni',
  '/opt/cni',
  '/etc/kubernetes',
];

/** Kernel settings the node changes (kubelet, bridge plugin) or relies on; restored at teardown. */
export const NODE_SYSCTLS = [
  'net/ipv4/ip_forward',
  'net/bridge/bridge-nf-call-iptables',
  'net/bridge/bridge-nf-call-ip6tables',
  'net/ipv4/conf/all/route_localnet',
  'vm/overcommit_memory',
  'vm/panic_on_oom',
  'kernel/panic',
  'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
];

export interface HostBaseline {
  /** iptables-save / ip6tables-save output before the node started. */
  iptables: string;
  ip6tables: string;
  ipsets: string[];
  sysctls: Record<string, string>;
  /** Entries of each tracked path, or null where it did not exist. */
  paths: Record<string, string[] | null>;
  /** Names in /run/netns before. */
  netns: string[];
  /** nfacct objects (kube-proxy makes its own). */
  nfacct: string[];
}

export interface NodeState {
  pid: number;
  startedAt: string;
  /** The run's temp dir, once made. */
  runDir?: string;
  baseline: HostBaseline;
}

export function readSysctl(name: string): string | undefined {
  try {
    return readFileSync(`/proc/sys/${name}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function writeSysctl(name: string, value: string): void {
  writeFileSync(`/proc/sys/${name}`, value);
}

export function pathEntries(path: string): string[] | null {
  if (!existsSync(path)) return null;
  try {
    return readdirSync(path).sort();
  } catch {
    return []; // a file, such as /run/xtables.lock
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readNodeState(): NodeState | undefined {
  try {
    return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as NodeState;
  } catch {
    return undefined;
  }
}

export type LockAttempt = { acquired: true; stale?: NodeState } | { acquired: false; holder: NodeState };

/**
 * One try at the node lock. Acquired: with the state of a crashed earlier run
 * (its owner is gone) for the caller to clean up first, if there was one. Not
 * acquired: a live process holds it. A stale lock is taken over by renaming it
 * away first, so of two processes finding it only one gets it.
 */
export function tryNodeLock(state: NodeState): LockAttempt {
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
  const create = (): boolean => {
    try {
      writeFileSync(STATE_FILE, JSON.stringify(state), { flag: 'wx', mode: 0o600 });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      return false;
    }
  };
  if (create()) return { acquired: true };
  const held = readNodeState();
  if (held && alive(held.pid)) return { acquired: false, holder: held };
  const moved = `${STATE_FILE}.stale-${process.pid}`;
  try {
    renameSync(STATE_FILE, moved);
  } catch {
    return { acquired: false, holder: held ?? { pid: 0, startedAt: '', baseline: emptyBaseline() } }; // another process took it over
  }
  let stale: NodeState | undefined;
  try {
    stale = JSON.parse(readFileSync(moved, 'utf8')) as NodeState;
  } catch {
    stale = undefined; // unreadable: clean up by pattern only
  }
  rmSync(moved, { force: true });
  if (!create()) return { acquired: false, holder: readNodeState() ?? { pid: 0, startedAt: '', baseline: emptyBaseline() } };
  return { acquired: true, stale: stale ?? { pid: 0, startedAt: '', baseline: emptyBaseline() } };
}

export function nodeBusy(holder: NodeState, waitedMs?: number): TestbedError {
  const who = holder.pid === process.pid ? 'this process' : `pid ${holder.pid}`;
  return new TestbedError(
    'TESTBED_NODE_BUSY',
    `a Kubernetes node is already running on this machine (${who}, ${holder.runDir ?? 'starting'})${waitedMs ? `, still after waiting ${Math.round(waitedMs / 1000)} s` : ''}: only one can, since it owns ${STATE_DIR}, the rotor0 bridge and its addresses`,
  );
}

/** Rewrites the lock file (already ours). */
export function saveNodeState(state: NodeState): void {
  writeFileSync(STATE_FILE, JSON.stringify(state), { mode: 0o600 });
}

export function releaseNodeLock(): void {
  rmSync(STATE_DIR, { recursive: true, force: true });
}

export function emptyBaseline(): HostBaseline {
  return { iptables: '', ip6tables: '', ipsets: [], sysctls: {}, paths: {}, netns: [], nfacct: [] };
}
