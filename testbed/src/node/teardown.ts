// Removing everything a node put on the host: processes, mounts, network
// namespaces, links, routes, iptables rules and chains, ipsets, cgroups, kernel
// settings, stray files and the run's directory. Each step runs even when an
// earlier one failed; the errors are reported together at the end.
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestbedError } from '../errors.ts';
import { waitFor } from '../wait.ts';
import { run, runOk } from './exec.ts';
import {
  NODE_SYSCTLS,
  TRACKED_HOST_PATHS,
  emptyBaseline,
  pathEntries,
  readNodeState,
  readSysctl,
  releaseNodeLock,
  writeSysctl,
  type HostBaseline,
  type NodeState,
} from './host-state.ts';
import { iptablesCleanup, ipsetsToDestroy, parseIptablesSave, tablesToDelete } from './iptables.ts';
import { podProcesses, removeCgroups } from './cgroups.ts';
import { hostMounts, mountsBelow } from './mounts.ts';
import { BRIDGE, CLUSTER_RANGE, CNI_NETWORK, SERVICE_CIDR } from './network.ts';

export const RUN_DIR_PREFIX = 'rotor-node-';

export interface HostTools {
  ip: string;
  iptables: string;
  ip6tables: string;
  ipset: string;
  nft: string;
  nfacct: string;
}

/** Debian's tools, by their usual paths (teardown must work even when the node's binaries are gone). */
export function defaultHostTools(): HostTools {
  const find = (name: string): string => ['/usr/sbin', '/sbin', '/usr/bin', '/bin'].map((d) => join(d, name)).find((p) => existsSync(p)) ?? name;
  return { ip: find('ip'), iptables: find('iptables'), ip6tables: find('ip6tables'), ipset: find('ipset'), nft: find('nft'), nfacct: find('nfacct') };
}

const saveCommand = (tool: string): string => `${tool}-save`;

/** The host as it is now, for the node's lock file (see HostBaseline). */
export async function captureBaseline(tools: HostTools): Promise<HostBaseline> {
  const save = async (tool: string): Promise<string> => {
    const saved = await run(saveCommand(tool), []);
    return saved.code === 0 ? saved.stdout : '';
  };
  const ipsets = await run(tools.ipset, ['list', '-n']);
  const sysctls: Record<string, string> = {};
  for (const name of NODE_SYSCTLS) {
    const value = readSysctl(name);
    if (value !== undefined) sysctls[name] = value;
  }
  const paths: Record<string, string[] | null> = {};
  for (const path of TRACKED_HOST_PATHS) paths[path] = pathEntries(path);
  return {
    iptables: await save(tools.iptables),
    ip6tables: await save(tools.ip6tables),
    ipsets: ipsets.code === 0 ? ipsets.stdout.split('\n').filter(Boolean) : [],
    sysctls,
    paths,
    netns: pathEntries('/run/netns') ?? [],
    nfacct: await nfacctNames(tools),
  };
}

/** Processes whose command line mentions `text` (every node process names its run dir). */
export function processesMentioning(text: string): number[] {
  const self = process.pid;
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== self)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((arg) => arg.includes(text));
      } catch {
        return false; // exited while we looked
      }
    })
    .map(Number);
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** SIGKILLs pods' processes and any process naming one of `dirs`, until none is left. */
export async function killNodeProcesses(dirs: string[]): Promise<void> {
  const find = (): number[] => [...new Set([...podProcesses(), ...dirs.flatMap((d) => processesMentioning(d))])];
  await waitFor(
    'node processes to exit',
    () => {
      const left = find().filter((pid) => !isZombie(pid)); // a zombie is dead, only not yet reaped
      killAll(left);
      return Promise.resolve(left.length === 0 ? true : undefined);
    },
    { timeoutMs: 20_000, intervalMs: 100 },
  );
}

function isZombie(pid: number): boolean {
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true; // gone
  }
}

/** Unmounts everything at or below `dirs`, deepest first; busy mounts lazily. */
export async function unmountBelow(dirs: string[]): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const points = mountsBelow(hostMounts(), dirs);
    if (points.length === 0) return;
    for (const point of points) {
      if ((await run('umount', [point])).code !== 0) await run('umount', ['-l', point]);
    }
  }
  const left = mountsBelow(hostMounts(), dirs);
  if (left.length) throw new TestbedError('TESTBED_TEARDOWN', `mounts left after unmounting: ${left.join(', ')}`);
}

async function removeLinks(tools: HostTools): Promise<void> {
  const ports = await run(tools.ip, ['-o', 'link', 'show', 'master', BRIDGE]);
  if (ports.code === 0) {
    for (const line of ports.stdout.split('\n').filter(Boolean)) {
      const name = line.split(':')[1]?.trim().split('@')[0];
      if (name) await run(tools.ip, ['link', 'delete', name]);
    }
  }
  if ((await run(tools.ip, ['link', 'show', BRIDGE])).code === 0) await runOk(tools.ip, ['link', 'delete', BRIDGE]);
  // The service route goes with the bridge; the unreachable route for the range does not.
  for (const route of [['unreachable', CLUSTER_RANGE], [SERVICE_CIDR]]) {
    const shown = await run(tools.ip, ['route', 'show', 'exact', route.at(-1) ?? '']);
    if (shown.stdout.trim()) await run(tools.ip, ['route', 'delete', ...route]);
  }
}

async function removeNetns(tools: HostTools, before: string[]): Promise<void> {
  for (const name of pathEntries('/run/netns') ?? []) {
    if (name.startsWith('cni-') && !before.includes(name)) await run(tools.ip, ['netns', 'delete', name]);
  }
}

async function removeIptables(tool: string, nft: string, family: 'ip' | 'ip6', before: string | undefined): Promise<void> {
  const now = await run(saveCommand(tool), []);
  if (now.code !== 0) return; // no such family here
  const baseline = before === undefined ? undefined : parseIptablesSave(before);
  const batch = iptablesCleanup(parseIptablesSave(now.stdout), baseline);
  if (batch) await runOk(`${tool}-restore`, ['-w', '--noflush'], { input: batch });
  if (baseline === undefined || !(await runOk(tool, ['--version'])).includes('nf_tables')) return;
  const empty = tablesToDelete(parseIptablesSave(await runOk(saveCommand(tool), [])), baseline);
  for (const table of empty) await runOk(nft, ['delete', 'table', family, table]);
}

async function removeIpsets(tools: HostTools, before: string[] | undefined): Promise<void> {
  const listed = await run(tools.ipset, ['list', '-n']);
  if (listed.code !== 0) return;
  const sets = ipsetsToDestroy(listed.stdout.split('\n').filter(Boolean), before);
  // list:set sets reference others: empty them all before destroying any.
  for (const set of sets) await run(tools.ipset, ['flush', set]);
  const failed: string[] = [];
  for (const set of sets) if ((await run(tools.ipset, ['destroy', set])).code !== 0) failed.push(set);
  for (const set of failed) await runOk(tools.ipset, ['destroy', set]);
}

function restoreSysctls(before: Record<string, string>): void {
  for (const [name, value] of Object.entries(before)) {
    if (readSysctl(name) !== value) writeSysctl(name, value);
  }
}

/** kube-proxy's packet counters for its metrics. */
export const KUBE_PROXY_NFACCT = ['ct_state_invalid_dropped_pkts', 'localhost_nps_accepted_pkts'];

export async function nfacctNames(tools: HostTools): Promise<string[]> {
  const listed = await run(tools.nfacct, ['list']);
  return listed.code === 0 ? listed.stdout.split('\n').filter(Boolean).map((l) => l.replace(/^.*= /, '').replace(/;$/, '')) : [];
}

/** Deletes the nfacct objects kube-proxy made (new since the start, or its known names without a baseline). */
async function removeNfacct(tools: HostTools, before: string[] | undefined): Promise<void> {
  for (const name of await nfacctNames(tools)) {
    if (before ? !before.includes(name) : KUBE_PROXY_NFACCT.includes(name)) await runOk(tools.nfacct, ['delete', name]);
  }
}

/** Deletes host paths that appeared during the run, and new entries in ones that existed. */
function removeHostLeftovers(baseline: HostBaseline, runDirs: string[]): void {
  // Deepest first, so /run/containerd/s is handled before /run/containerd.
  const tracked = [...TRACKED_HOST_PATHS].sort((a, b) => b.length - a.length);
  for (const path of tracked) {
    const before = baseline.paths[path];
    if (before === undefined) {
      // No baseline (lost lock file): remove only what is certainly ours.
      if (path === '/var/lib/cni/results') for (const e of pathEntries(path) ?? []) if (e.startsWith(`${CNI_NETWORK}-`)) rmSync(join(path, e), { force: true });
      if (path === '/var/log/containers') removeLinksInto(path, runDirs);
      continue;
    }
    if (before === null) {
      rmSync(path, { recursive: true, force: true });
      continue;
    }
    if (!existsSync(path) || !statSync(path).isDirectory()) continue;
    for (const entry of pathEntries(path) ?? []) {
      if (!before.includes(entry) && !tracked.includes(join(path, entry))) rmSync(join(path, entry), { recursive: true, force: true });
    }
  }
}

/** Removes symlinks (the kubelet's /var/log/containers entries) that lead into a run dir or nowhere. */
function removeLinksInto(dir: string, runDirs: string[]): void {
  for (const entry of pathEntries(dir) ?? []) {
    const path = join(dir, entry);
    try {
      if (!lstatSync(path).isSymbolicLink()) continue;
      const target = readlinkSync(path);
      if (runDirs.some((d) => target.startsWith(`${d}/`)) || !existsSync(path)) rmSync(path, { force: true });
    } catch {
      // removed while we looked
    }
  }
}

/** Run dirs of earlier nodes in the temp dir (only stale ones once the lock is ours). */
export function staleRunDirs(except?: string): string[] {
  return readdirSync(tmpdir())
    .filter((e) => e.startsWith(RUN_DIR_PREFIX))
    .map((e) => join(tmpdir(), e))
    .filter((p) => p !== except);
}

export interface TeardownOptions {
  tools?: HostTools;
  /** What the host looked like before; without it only what is certainly the node's is removed. */
  baseline?: HostBaseline;
  /** Run dirs to clear: processes naming them are killed, mounts below them unmounted, then deleted. */
  runDirs: string[];
  /** Also release the node lock. */
  releaseLock: boolean;
  /** Runs after a clean teardown, before the lock is released (see StartKubeNodeOptions.onMachine). */
  beforeRelease?: () => Promise<void>;
  /** Filled with the milliseconds each step took. */
  timings?: Record<string, number>;
}

/** Removes everything a node left on the host; throws one error listing every step that failed. */
export async function teardownHost(options: TeardownOptions): Promise<void> {
  const tools = options.tools ?? defaultHostTools();
  const baseline = options.baseline;
  const errors: string[] = [];
  const step = async (name: string, action: () => Promise<void> | void): Promise<void> => {
    const t0 = Date.now();
    try {
      await action();
    } catch (err) {
      errors.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (options.timings) options.timings[name] = Date.now() - t0;
  };
  await step('kill processes', () => killNodeProcesses(options.runDirs));
  await step('unmount', () => unmountBelow(options.runDirs));
  await step('network namespaces', () => removeNetns(tools, baseline?.netns ?? []));
  await step('links and routes', () => removeLinks(tools));
  await step('iptables', () => removeIptables(tools.iptables, tools.nft, 'ip', baseline?.iptables));
  await step('ip6tables', () => removeIptables(tools.ip6tables, tools.nft, 'ip6', baseline?.ip6tables));
  await step('ipsets', () => removeIpsets(tools, baseline?.ipsets));
  await step('nfacct counters', () => removeNfacct(tools, baseline?.nfacct));
  await step('cgroups', () => removeCgroups());
  await step('sysctls', () => restoreSysctls(baseline?.sysctls ?? {}));
  await step('host paths', () => removeHostLeftovers(baseline ?? { ...emptyBaseline(), paths: {} }, options.runDirs));
  await step('run dirs', () => {
    // Never delete through a mount that is still there (a bind mount could lead into host directories).
    const mounted = mountsBelow(hostMounts(), options.runDirs);
    if (mounted.length) throw new Error(`not deleting run dirs with mounts below: ${mounted.join(', ')}`);
    for (const dir of options.runDirs) rmSync(dir, { recursive: true, force: true });
  });
  if (options.releaseLock && errors.length === 0) {
    await step('before release', async () => options.beforeRelease?.());
    releaseNodeLock();
  }
  if (errors.length) throw new TestbedError('TESTBED_TEARDOWN', `node teardown left something behind:\n- ${errors.join('\n- ')}`);
}

/**
 * Removes what a crashed earlier node left (its lock file says what the host
 * looked like before it; without one, only what is certainly a node's: its
 * bridge, KUBE-/CNI- chains, kube-router ipsets, pod cgroups, run dirs).
 * Throws while a live node holds the lock.
 */
export async function cleanupStaleNode(tools: HostTools = defaultHostTools()): Promise<void> {
  const state: NodeState | undefined = readNodeState();
  if (state && state.pid !== 0) {
    try {
      process.kill(state.pid, 0);
      throw new TestbedError('TESTBED_NODE_BUSY', `a node is running (pid ${state.pid}); stop it instead of cleaning up under it`);
    } catch (err) {
      if (err instanceof TestbedError) throw err;
    }
  }
  const runDirs = [...new Set([...(state?.runDir ? [state.runDir] : []), ...staleRunDirs()])];
  await teardownHost({ tools, baseline: state?.baseline, runDirs, releaseLock: true });
}
