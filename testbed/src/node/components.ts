import { readFileSync, readdirSync } from 'node:fs';
import { basename } from 'node:path';
import { podProcesses } from './cgroups.ts';

/**
 * The node's processes by component: every host process naming the run dir
 * (rotor-kube's subcommand or the binary's name; containerd's shims included;
 * kubectl, a client, left out)
 * and, as "pods", everything in the pods' cgroups.
 */
export function nodeComponentPids(runDir: string): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      continue;
    }
    if (!argv.some((a) => a.includes(runDir))) continue;
    const exe = basename(argv[0] ?? '?');
    const name = exe === 'rotor-kube' ? (argv[1] ?? exe) : exe;
    if (name === 'kubectl') continue; // a client of the node (e.g. a test's exec), not part of it
    (out[name] ??= []).push(Number(entry));
  }
  out.pods = podProcesses();
  return out;
}
