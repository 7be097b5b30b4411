// `rotor leases [--role R]`: every database lease with its TTL left, paired
// with the PostgreSQL user it created, and the orphans both ways. Read-only.
// Exit 0 without orphans, 7 with orphans (docs/cli.md).
import { Command } from 'commander';
import { isVaultError, type VaultClient } from '@rotor/vault-client';
import { paint, useColor, visibleLength, type Paint } from '../color.ts';
import { CliError, ExitCode } from '../exit-codes.ts';
import { pairLeases, type LeaseRecord, type Pairing } from '../leases/match.ts';
import { readDbUsers, readRoleLeases, readRoles } from '../leases/reads.ts';
import { vaultClient, withVaultOptions, type VaultOptions } from '../vault-options.ts';

interface LeasesOptions extends VaultOptions {
  role?: string;
  mount: string;
  dbUrl?: string;
  db: boolean;
  json?: boolean;
}

export interface LeasesReport {
  mount: string;
  roles: string[];
  leases: Array<{ role: string; leaseId: string; ttlSeconds: number; issueTime?: string; expireTime?: string; databaseUser?: string }>;
  /** False when PostgreSQL was not read (--no-db), so users and orphans are unknown. */
  databaseChecked: boolean;
  orphans: {
    /** sameSecond > 1: which of that many same-second leases lost its user is a best guess. */
    leasesWithoutUser: Array<{ role: string; leaseId: string; sameSecond: number }>;
    usersWithoutLease: Array<{ name: string; role?: string; validUntil?: string }>;
  };
}

/** 1h02m03s */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m${String(rest).padStart(2, '0')}s` : m > 0 ? `${m}m${String(rest).padStart(2, '0')}s` : `${rest}s`;
}

export function leasesReport(mount: string, roles: string[], leases: LeaseRecord[], pairing: Pairing | undefined): LeasesReport {
  const userOf = new Map(pairing?.pairs.map((p) => [p.lease, p.user.name]));
  return {
    mount,
    roles,
    leases: leases.map((l) => ({
      role: l.role,
      leaseId: l.leaseId,
      ttlSeconds: l.ttl,
      ...(l.issueTime ? { issueTime: l.issueTime.toISOString() } : {}),
      ...(l.expireTime ? { expireTime: l.expireTime.toISOString() } : {}),
      ...(userOf.has(l) ? { databaseUser: userOf.get(l) } : {}),
    })),
    databaseChecked: pairing !== undefined,
    orphans: {
      leasesWithoutUser: (pairing?.leasesWithoutUser ?? []).map((l) => ({ role: l.role, leaseId: l.leaseId, sameSecond: l.sameSecond })),
      usersWithoutLease: (pairing?.usersWithoutLease ?? []).map((u) => ({ name: u.name, ...(u.role ? { role: u.role } : {}), ...(u.validUntil ? { validUntil: u.validUntil.toISOString() } : {}) })),
    },
  };
}

function render(r: LeasesReport, p: Paint): string {
  const lines: string[] = [];
  if (r.leases.length === 0) lines.push(`no leases under ${r.mount}/creds/ for ${r.roles.length === 1 ? `role ${r.roles[0]}` : `${r.roles.length} roles`}`);
  else {
    const rows = [['ROLE', 'TTL LEFT', 'DATABASE USER', 'LEASE'].map((h) => p.dim(h)), ...r.leases.map((l) => [l.role, duration(l.ttlSeconds), l.databaseUser ?? (r.databaseChecked ? p.bad('(none)') : p.dim('(not checked)')), l.leaseId])];
    const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => visibleLength(row[i] ?? ''))));
    for (const row of rows) lines.push(row.map((cell, i) => (i < 3 ? cell + ' '.repeat((widths[i] ?? 0) - visibleLength(cell)) : cell)).join('  '));
  }
  if (!r.databaseChecked) {
    lines.push(p.dim('PostgreSQL not read (--no-db): database users and orphans unknown'));
    return `${lines.join('\n')}\n`;
  }
  const { leasesWithoutUser, usersWithoutLease } = r.orphans;
  if (leasesWithoutUser.length + usersWithoutLease.length === 0) lines.push(p.ok('no orphans'));
  for (const l of leasesWithoutUser) {
    const guess = l.sameSecond > 1 ? ` (one of ${l.sameSecond} leases issued in the same second: which one is a best guess)` : '';
    lines.push(p.bad(`orphan lease: ${l.leaseId} has no database user${guess} (dropped outside Vault?): vault lease revoke ${l.leaseId}`));
  }
  for (const u of usersWithoutLease) {
    lines.push(p.bad(`orphan user: ${u.name}${u.role ? ` (role ${u.role})` : ''} has no lease${u.validUntil ? `; valid until ${u.validUntil}` : ''}: Vault will not drop it; DROP ROLE "${u.name}" once nothing uses it`));
  }
  return `${lines.join('\n')}\n`;
}

function asCliError(err: unknown): unknown {
  if (err instanceof CliError) return err;
  if (isVaultError(err)) return new CliError(ExitCode.VAULT, err.message, { cause: err });
  // pg connection and query errors: the database could not be read.
  if (err instanceof Error && ('code' in err || /connect|password|database/i.test(err.message))) return new CliError(ExitCode.VAULT, `PostgreSQL: ${err.message}`, { cause: err });
  return err;
}

export async function gatherLeases(client: VaultClient, options: Pick<LeasesOptions, 'role' | 'mount' | 'dbUrl' | 'db'>): Promise<LeasesReport> {
  const roles = options.role !== undefined ? [options.role] : await readRoles(client, options.mount);
  const leases = (await Promise.all(roles.map((role) => readRoleLeases(client, options.mount, role)))).flat();
  const pairing = options.db ? pairLeases(leases, await readDbUsers(options.dbUrl), roles, options.role === undefined) : undefined;
  return leasesReport(options.mount, roles, leases, pairing);
}

export function leasesCommand(): Command {
  return withVaultOptions(new Command('leases').description('database leases with their TTL left, paired with the PostgreSQL users they created; orphans both ways'))
    .option('--role <name>', 'only this database role (default: every role of the mount)')
    .option('--mount <path>', 'database secrets engine mount', 'database')
    .option('--db-url <url>', 'PostgreSQL to read pg_roles from, postgresql://user@host:port/db (password from PGPASSWORD or ~/.pgpass; default: the PG* variables)')
    .option('--no-db', 'do not read PostgreSQL: leases only')
    .option('--json', 'print the report as JSON')
    .action(async (options: LeasesOptions) => {
      let report: LeasesReport;
      try {
        report = await gatherLeases(vaultClient(options), options);
      } catch (err) {
        throw asCliError(err);
      }
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : render(report, paint(useColor())));
      const orphans = report.orphans.leasesWithoutUser.length + report.orphans.usersWithoutLease.length;
      if (orphans > 0) throw new CliError(ExitCode.ATTENTION, `${orphans} orphan(s)`);
    });
}
