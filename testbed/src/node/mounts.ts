import { readFileSync } from 'node:fs';

export interface MountEntry {
  mountPoint: string;
  fsType: string;
  source: string;
}

/** mountinfo escapes space, tab, newline and backslash as octal (\040 ...). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Parses /proc/<pid>/mountinfo (see proc(5)): fields before " - " then fstype and source. */
export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const [before, after] = line.split(' - ');
    const fields = before?.split(' ') ?? [];
    const [fsType = '', source = ''] = after?.split(' ') ?? [];
    const mountPoint = fields[4];
    if (mountPoint === undefined) continue;
    entries.push({ mountPoint: unescape(mountPoint), fsType, source: unescape(source) });
  }
  return entries;
}

export function hostMounts(): MountEntry[] {
  return parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
}

function isBelow(path: string, dir: string): boolean {
  const base = dir.endsWith('/') ? dir : `${dir}/`;
  return path === dir || path.startsWith(base);
}

/**
 * Mount points at or below any of `dirs`, deepest first and each once, in the
 * order they must be unmounted (a mount stacked twice on one point is listed twice).
 */
export function mountsBelow(mounts: MountEntry[], dirs: string[]): string[] {
  const points = mounts.map((m) => m.mountPoint).filter((p) => dirs.some((d) => isBelow(p, d)));
  // Later entries in mountinfo are stacked on top of earlier ones: unmount them first.
  return points
    .map((point, index) => ({ point, index }))
    .sort((a, b) => b.point.split('/').length - a.point.split('/').length || b.index - a.index)
    .map((m) => m.point);
}

/** The cgroup v1 and v2 hierarchies mounted on the host, e.g. /sys/fs/cgroup/memory. */
export function cgroupHierarchies(mounts: MountEntry[]): string[] {
  return [...new Set(mounts.filter((m) => m.fsType === 'cgroup' || m.fsType === 'cgroup2').map((m) => m.mountPoint))].sort();
}
