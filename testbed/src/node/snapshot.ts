// A picture of everything on the host that a node could leave behind, so a test
// can prove that stop() restored the host exactly.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { run } from './exec.ts';
import { NODE_SYSCTLS, STATE_DIR, TRACKED_HOST_PATHS, pathEntries, readSysctl } from './host-state.ts';
import { cgroupHierarchies, hostMounts } from './mounts.ts';
import { CGROUP_ROOT } from './network.ts';
import { podProcesses } from './cgroups.ts';
import { RUN_DIR_PREFIX, defaultHostTools } from './teardown.ts';
import { tmpdir } from 'node:os';

export type HostSnapshot = Record<string, string[]>;

/** What the node runs (CNI plugins run only for a moment, but a hung one counts too). */
const NODE_EXECUTABLES = new Set(['rotor-kube', 'containerd', 'containerd-shim-runc-v2', 'ctr', 'runc', 'kube-router', 'coredns', 'bridge', 'host-local', 'loopback', 'portmap']);

/**
 * Node processes: any of the node's executables, whatever runs them (other
 * tests' OpenBao or kube-apiserver on the same machine name their own temp dirs
 * and are not counted unless they run a node executable), anything naming a node
 * run dir, and everything in the pods' cgroups.
 */
function nodeProcesses(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const exe = basename(argv[0] ?? '');
      const subcommand = argv[1] ?? '';
      // rotor-kube etcd/kube-apiserver also serve other tests (startKubeApiserver): only its node components count.
      const nodeComponent = exe === 'rotor-kube' ? !['etcd', 'kube-apiserver'].includes(subcommand) : NODE_EXECUTABLES.has(exe);
      if (nodeComponent || argv.some((a) => a.includes(`/${RUN_DIR_PREFIX}`))) found.push(argv.join(' '));
    } catch {
      // exited while we looked
    }
  }
  return [...found, ...podProcesses().map((pid) => `pod process ${pid}`)].sort();
}

/**
 * Mounts that other tools on a shared machine make and remove on their own: the
 * image builds' buildah storage (below .../images/storage/ of any testbed cache,
 * a cold-cache build's too) and podman's. Not the node's, so not compared.
 */
function foreignMount(mountPoint: string): boolean {
  return mountPoint.includes('/images/storage/') || mountPoint.startsWith('/var/lib/containers/') || mountPoint.startsWith('/run/containers/');
}

const lines = (text: string): string[] => text.split('\n').map((l) => l.trimEnd()).filter(Boolean);

/** iptables-save without comments and counters, which change on their own. */
function normalizedRules(text: string): string[] {
  return lines(text)
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/ \[\d+:\d+\]$/, ''));
}

/**
 * The host state a node touches: node processes, mounts, network namespaces,
 * links, addresses, routes, iptables (v4 and v6), ipsets, cgroups, the kernel
 * settings it changes, tracked host paths, run dirs and the lock.
 */
export async function hostSnapshot(): Promise<HostSnapshot> {
  const tools = defaultHostTools();
  const out = async (command: string, args: string[]): Promise<string[]> => {
    const result = await run(command, args);
    return result.code === 0 ? lines(result.stdout) : [`(${command} ${args.join(' ')} failed: ${result.stderr.trim()})`];
  };
  const cgroups: string[] = [];
  for (const hierarchy of cgroupHierarchies(hostMounts())) {
    try {
      for (const entry of readdirSync(hierarchy, { withFileTypes: true })) if (entry.isDirectory()) cgroups.push(join(hierarchy, entry.name));
    } catch {
      // unreadable hierarchy
    }
    if (existsSync(join(hierarchy, CGROUP_ROOT))) cgroups.push(`${join(hierarchy, CGROUP_ROOT)} (node root)`);
  }
  return {
    processes: nodeProcesses(),
    mounts: hostMounts()
      .filter((m) => !foreignMount(m.mountPoint))
      .map((m) => `${m.mountPoint} ${m.fsType} ${m.source}`),
    netns: [...(await out(tools.ip, ['netns', 'list'])), ...(pathEntries('/run/netns') ?? []).map((n) => `/run/netns/${n}`)],
    links: (await out(tools.ip, ['-o', 'link', 'show'])).map((l) => l.replace(/^\d+: /, '').replace(/ link\/.*$/, '')),
    addresses: (await out(tools.ip, ['-o', 'addr', 'show'])).map((l) => l.replace(/^\d+: /, '').replace(/ valid_lft.*$/, '')),
    routes: await out(tools.ip, ['route', 'show', 'table', 'all']),
    iptables: normalizedRules((await run('iptables-save', [])).stdout),
    ip6tables: normalizedRules((await run('ip6tables-save', [])).stdout),
    ipsets: await out(tools.ipset, ['list', '-n']),
    nfacct: (await out(tools.nfacct, ['list'])).map((l) => l.replace(/^.*= /, '')),
    rules: await out(tools.ip, ['rule', 'show']),
    cgroups: cgroups.sort(),
    sysctls: NODE_SYSCTLS.map((name) => `${name}=${readSysctl(name) ?? '(absent)'}`),
    hostPaths: TRACKED_HOST_PATHS.map((path) => `${path}: ${JSON.stringify(pathEntries(path))}`),
    runDirs: readdirSync(tmpdir()).filter((e) => e.startsWith(RUN_DIR_PREFIX)),
    lock: existsSync(STATE_DIR) ? [STATE_DIR] : [],
  };
}

/** Human-readable differences ("+" appeared, "-" vanished), per aspect; empty when identical. */
export function diffSnapshots(before: HostSnapshot, after: HostSnapshot): string[] {
  const diffs: string[] = [];
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = before[key] ?? [];
    const b = after[key] ?? [];
    const remaining = [...a];
    const added: string[] = [];
    for (const line of b) {
      const at = remaining.indexOf(line);
      if (at >= 0) remaining.splice(at, 1);
      else added.push(line);
    }
    for (const line of remaining) diffs.push(`${key}: - ${line}`);
    for (const line of added) diffs.push(`${key}: + ${line}`);
  }
  return diffs;
}
