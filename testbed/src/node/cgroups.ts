// The pods' cgroups: below CGROUP_ROOT in every hierarchy (the kubelet's cgroupRoot),
// so teardown finds every pod process and every cgroup the node made.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupHierarchies, hostMounts } from './mounts.ts';
import { CGROUP_ROOT } from './network.ts';

/**
 * Creates CGROUP_ROOT in every hierarchy (the kubelet refuses a cgroupRoot that
 * does not exist). cgroup v1 cpuset starts a new group with no CPUs or memory
 * nodes, so those are copied from the root.
 */
export function createCgroupRoot(): void {
  for (const hierarchy of cgroupHierarchies(hostMounts())) {
    const dir = join(hierarchy, CGROUP_ROOT);
    mkdirSync(dir, { recursive: true });
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      const parent = join(hierarchy, file);
      if (existsSync(parent) && readFileSync(join(dir, file), 'utf8').trim() === '') writeFileSync(join(dir, file), readFileSync(parent, 'utf8'));
    }
  }
}

/** Every process in a cgroup at or below `CGROUP_ROOT`: the pods' processes. */
export function podProcesses(): number[] {
  const pids = new Set<number>();
  const walk = (dir: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    try {
      for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) pids.add(Number(pid));
    } catch {
      // not a cgroup dir
    }
    for (const entry of entries) {
      const path = join(dir, entry);
      try {
        if (statSync(path).isDirectory()) walk(path);
      } catch {
        // removed while we looked
      }
    }
  };
  for (const hierarchy of cgroupHierarchies(hostMounts())) walk(join(hierarchy, CGROUP_ROOT));
  pids.delete(process.pid);
  return [...pids];
}

/** Removes the pods' cgroups below CGROUP_ROOT in every hierarchy, children first. */
export function removeCgroups(): void {
  const remove = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) remove(join(dir, entry.name));
    }
    rmdirSync(dir); // cgroupfs: rmdir, never rm -r (its files cannot be unlinked)
  };
  for (const hierarchy of cgroupHierarchies(hostMounts())) {
    const root = join(hierarchy, CGROUP_ROOT);
    if (existsSync(root)) remove(root);
  }
}

