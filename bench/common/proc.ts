// What a bench reads of a process from /proc: its resident set and the CPU it has used.
import { readFileSync } from 'node:fs';

const TICK_MS = 1000 / 100; // USER_HZ, the unit of /proc's CPU times

/** Resident set size in MiB (0 once the process is gone). */
export function rssMiB(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** utime+stime in ms (0 once the process is gone). */
export function cpuMs(pid: number): number {
  try {
    // After the "(comm) " prefix, stat's fields 14 and 15 are at 11 and 12.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ').map(Number);
    return ((fields[11] ?? 0) + (fields[12] ?? 0)) * TICK_MS;
  } catch {
    return 0;
  }
}

/**
 * A process's memory in MiB: rss (VmRSS, counting shared pages such as a binary's text in full in
 * every process that maps them), anon (RssAnon: its own heap and stacks, what one more copy of the
 * process adds) and pss (shared pages divided among their sharers: summed over processes, what
 * they use together). Zeros once the process is gone.
 */
export function memoryMiB(pid: number): { rss: number; anon: number; pss: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (text: string, field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) / 1024;
    return { rss: kib(status, 'VmRSS'), anon: kib(status, 'RssAnon'), pss: kib(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss') };
  } catch {
    return { rss: 0, anon: 0, pss: 0 };
  }
}
