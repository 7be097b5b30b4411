// `rotor rotate --role R`: force new credentials for a role's consumers by
// revoking its leases, under the safety check of rotate/safety.ts.
// `rotor rotate-root --connection C`: Vault rotates the connection's root password.
// Exit codes in docs/cli.md: 0 done, 4 Vault/Kubernetes unreadable, 5 some
// revocations failed, 6 refused by the safety check (nothing revoked).
import type { V1Pod } from '@kubernetes/client-node';
import { Command } from 'commander';
import { isVaultError } from '@rotor/vault-client';
import { paint, useColor } from '../color.ts';
import { CliError, ExitCode } from '../exit-codes.ts';
import { commaList, kubeClients } from '../k8s-options.ts';
import type { LeaseRecord } from '../leases/match.ts';
import { readRoleLeases } from '../leases/reads.ts';
import { consumersOf, type Consumer } from '../rotate/consumers.ts';
import { judgeLeases, replacementAdvice } from '../rotate/safety.ts';
import { vaultClient, withVaultOptions, type VaultOptions } from '../vault-options.ts';

interface RotateOptions extends VaultOptions {
  role: string;
  mount: string;
  namespaces: string[];
  issuedBefore?: Date;
  force?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

export interface RotateReport {
  role: string;
  mount: string;
  /** False with --force when the census could not run. */
  consumersChecked: boolean;
  consumers: Array<{ namespace: string; pod: string; mode: string; owner?: string; createdAt?: string }>;
  /** Leases in scope (issued before --issued-before, if given). */
  leases: number;
  revoked: string[];
  failed: Array<{ leaseId: string; error: string }>;
  /** Leases the check kept, with the pods that might hold them. */
  blocked: Array<{ leaseId: string; pods: string[] }>;
  advice: string[];
  dryRun: boolean;
  forced: boolean;
}

function parseTime(text: string): Date {
  const relative = /^(\d+)(s|m|h)$/.exec(text);
  const date = relative ? new Date(Date.now() - Number(relative[1]) * { s: 1_000, m: 60_000, h: 3_600_000 }[relative[2] as 's' | 'm' | 'h']) : new Date(text);
  if (Number.isNaN(date.getTime())) throw new CliError(ExitCode.USAGE, `--issued-before takes an ISO time or an age like 10m, got ${JSON.stringify(text)}`);
  return date;
}

async function census(namespaces: readonly string[], mount: string, role: string): Promise<Consumer[]> {
  const kube = kubeClients()();
  const pods: V1Pod[] = [];
  for (const namespace of namespaces) pods.push(...(await kube.core.listNamespacedPod({ namespace })).items);
  return consumersOf(pods, mount, role);
}

function render(r: RotateReport): string {
  const p = paint(useColor());
  const lines: string[] = [];
  const byMode = (mode: string): number => r.consumers.filter((c) => c.mode === mode).length;
  lines.push(
    r.consumersChecked
      ? `consumers of ${r.mount}/creds/${r.role} in the pods: ${byMode('direct')} direct, ${byMode('sidecar')} sidecar, ${byMode('init-container')} init-container`
      : p.warn(`consumers not checked (--force): pods that cannot swap in place will fail until replaced`),
  );
  lines.push(`${r.leases} lease(s) in scope`);
  if (r.blocked.length > 0) {
    lines.push(p.bad(`${r.blocked.length} lease(s) may be held by pods that cannot swap credentials in place:`));
    for (const b of r.blocked) lines.push(`  ${b.leaseId}  ← ${b.pods.join(', ')}`);
    lines.push('Replace those pods first, then revoke what they no longer hold:');
    for (const a of r.advice) lines.push(`  ${a}`);
    lines.push(`  rotor rotate --role ${r.role} --issued-before <the time the rollout started>`);
  }
  if (r.dryRun) lines.push(p.dim(`--dry-run: would revoke ${r.blocked.length > 0 && !r.forced ? 0 : r.leases} lease(s)`));
  else {
    for (const id of r.revoked) lines.push(`  revoked ${id}`);
    for (const f of r.failed) lines.push(p.bad(`  failed  ${f.leaseId}: ${f.error}`));
    lines.push(r.failed.length === 0 ? p.ok(`revoked ${r.revoked.length} lease(s)`) : p.bad(`revoked ${r.revoked.length}, failed ${r.failed.length}`));
  }
  return `${lines.join('\n')}\n`;
}

async function rotate(options: RotateOptions): Promise<RotateReport> {
  const client = vaultClient(options);
  let consumers: Consumer[] = [];
  let consumersChecked = true;
  try {
    consumers = await census(options.namespaces, options.mount, options.role);
  } catch (err) {
    if (!options.force) throw new CliError(ExitCode.VAULT, `cannot list the pods of ${options.namespaces.join(', ')} to find the role's consumers (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); --force revokes without this check`);
    consumersChecked = false;
  }
  let leases: LeaseRecord[];
  try {
    leases = await readRoleLeases(client, options.mount, options.role);
  } catch (err) {
    throw isVaultError(err) ? new CliError(ExitCode.VAULT, err.message, { cause: err }) : err;
  }
  if (options.issuedBefore) {
    const cutoff = options.issuedBefore.getTime();
    leases = leases.filter((l) => l.issueTime !== undefined && l.issueTime.getTime() < cutoff);
  }
  const verdicts = judgeLeases(leases, consumers);
  const blocked = verdicts.filter((v) => v.blockers.length > 0);
  const report: RotateReport = {
    role: options.role,
    mount: options.mount,
    consumersChecked,
    consumers: consumers.map((c) => ({ namespace: c.namespace, pod: c.pod, mode: c.mode, ...(c.owner ? { owner: c.owner } : {}), ...(c.createdAt ? { createdAt: c.createdAt.toISOString() } : {}) })),
    leases: leases.length,
    revoked: [],
    failed: [],
    blocked: blocked.map((v) => ({ leaseId: v.lease.leaseId, pods: v.blockers.map((c) => `${c.namespace}/${c.pod} (${c.mode})`) })),
    advice: replacementAdvice(blocked.flatMap((v) => v.blockers)),
    dryRun: options.dryRun === true,
    forced: options.force === true,
  };
  if (options.dryRun || (blocked.length > 0 && !options.force)) return report;
  // One lease at a time: only the leases seen now; those direct-mode consumers fetch meanwhile stay.
  for (const lease of leases) {
    try {
      await client.sys.revokeLease(lease.leaseId);
      report.revoked.push(lease.leaseId);
    } catch (err) {
      report.failed.push({ leaseId: lease.leaseId, error: isVaultError(err) ? err.message : String(err) });
    }
  }
  return report;
}

export function rotateCommand(): Command {
  return withVaultOptions(new Command('rotate').description("force new credentials for a database role's consumers by revoking its leases (after a safety check of who holds them)"))
    .requiredOption('--role <name>', 'database role, e.g. db-reader-role')
    .option('--mount <path>', 'database secrets engine mount', 'database')
    .option('--namespaces <list>', 'namespaces whose pods may consume the role (comma-separated)', commaList, ['app'])
    .option('--issued-before <time>', 'only leases issued before this ISO time or age (e.g. 15m): the ones replaced pods no longer hold', parseTime)
    .option('--dry-run', 'show what would be revoked and what the check says; change nothing')
    .option('--force', 'revoke even leases that pods which cannot swap in place may hold (they fail until replaced)')
    .option('--json', 'print the report as JSON')
    .action(async (options: RotateOptions) => {
      const report = await rotate(options);
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : render(report));
      if (report.blocked.length > 0 && !options.force) throw new CliError(ExitCode.REFUSED, `refused: ${report.blocked.length} lease(s) may be held by pods that cannot swap in place; nothing revoked`);
      if (report.failed.length > 0) throw new CliError(ExitCode.APPLY_FAILED, `${report.failed.length} revocation(s) failed`);
    });
}

interface RotateRootOptions extends VaultOptions {
  connection: string;
  mount: string;
  json?: boolean;
}

export function rotateRootCommand(): Command {
  return withVaultOptions(new Command('rotate-root').description("have Vault rotate a database connection's root password now (only Vault knows the new one)"))
    .requiredOption('--connection <name>', 'database connection, e.g. postgres')
    .option('--mount <path>', 'database secrets engine mount', 'database')
    .option('--json', 'print the result as JSON')
    .action(async (options: RotateRootOptions) => {
      const client = vaultClient(options);
      const started = Date.now();
      try {
        await client.database.rotateRoot(options.connection, options.mount);
      } catch (err) {
        throw isVaultError(err) ? new CliError(ExitCode.VAULT, err.message, { cause: err }) : err;
      }
      const result = { connection: options.connection, mount: options.mount, rotated: true, seconds: (Date.now() - started) / 1000 };
      process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : `rotated the root credentials of ${options.mount}/config/${options.connection} in ${result.seconds.toFixed(2)} s; only Vault knows the new password\n`);
    });
}
