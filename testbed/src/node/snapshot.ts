// A picture of everything on the host that a node could leave behind, so a test
// can prove that stop() restored the host exactly.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './exec.ts';
import { NODE_SYSCTLS, STATE_DIR, TRACKED_HOST_PATHS, pathEntries, readSysctl } from './host-state.ts';
import { cgroupHierarchies, hostMounts } from './mounts.ts';
import { CGROUP_ROOT } from './network.ts';
import { podProcesses } from './cgroups.ts';
import { RUN_DIR_PREFIX, defaultHostTools } from './teardown.ts';
import { homedir, tmpdir } from 'node:os';
import { cacheDir } from '../binaries.ts';

export type HostSnapshot = Record<string, string[]>;

/** Processes running a binary from the testbed cache or runc, or living in the pods' cgroups. */
function nodeProcesses(): string[] {
  const roots = [join(cacheDir(), 'bin'), join(cacheDir(), 'cni'), '/usr/sbin/runc'];
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const exe = argv[0] ?? '';
      if (roots.some((r) => exe.startsWith(r)) || argv.some((a) => a.includes(`/${RUN_DIR_PREFIX}`))) found.push(argv.join(' '));
    } catch {
      // exited while we looked
    }
  }
  return [...found, ...podProcesses().map((pid) => `pod process ${pid}`)].sort();
}

/**
 * Mounts that other tools on a shared machine make and remove on their own
 * (the image builds' buildah storage): not the node's, so not compared.
 */
const FOREIGN_MOUNTS = (): string[] => [
  `${join(cacheDir(), 'images', 'storage')}/`,
  `${join(homedir(), '.cache', 'rotor', 'images', 'storage')}/`,
  '/var/lib/containers/',
  '/run/containers/',
];

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
      .filter((m) => !FOREIGN_MOUNTS().some((dir) => m.mountPoint.startsWith(dir)))
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
