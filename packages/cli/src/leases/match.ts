// Pure: pairs each database lease with the PostgreSQL role it created.
//
// Vault's lease lookup does not name the database user, so the pairing uses
// what both sides record. The PostgreSQL plugin's default username template is
//   v-<display name, 8>-<role name, 8>-<20 random>-<unix time of creation>
// and the creation statements set VALID UNTIL to the lease's expiry (the
// plugin moves it on every renewal). A user pairs with a lease of a role whose
// name starts with the user's role part, issued within a couple of seconds of
// the user's timestamp; of several candidates the closest in issue time and
// expiry wins. Users made in the same second are told apart by creation order:
// PostgreSQL's role OIDs grow, and leases carry their issue time to the
// nanosecond. What stays unpaired are the orphans, both ways.

/** Seconds between the user's creation stamp and the lease's issue time that still pair. */
export const ISSUE_SLACK_SECONDS = 3;

export interface LeaseRecord {
  role: string;
  leaseId: string;
  /** Seconds left. */
  ttl: number;
  issueTime?: Date;
  expireTime?: Date;
}

export interface DbUser {
  name: string;
  validUntil?: Date;
  /** pg_roles.oid: grows with creation, so it orders users made in the same second. */
  oid?: number;
}

export interface ParsedUsername {
  /** The role name as the template truncated it (8 characters). */
  rolePart: string;
  createdAt: Date;
}

const TEMPLATE = /^v-(.+)-[A-Za-z0-9]{20}-(\d{9,11})$/;

/**
 * The creation time and truncated role name from a username made by the
 * default template; undefined for any other name. The display and role parts
 * may themselves hold dashes, so the role part is recognised by the caller's
 * candidate role names.
 */
export function parseUsername(name: string, roleNames: readonly string[]): ParsedUsername | undefined {
  const match = TEMPLATE.exec(name);
  if (!match?.[1] || !match[2]) return undefined;
  const middle = match[1];
  const createdAt = new Date(Number(match[2]) * 1000);
  // The longest role prefix that ends the middle part after a dash wins ("db-reade" over "reade").
  const parts = [...new Set(roleNames.map((r) => r.slice(0, 8)))].sort((a, b) => b.length - a.length);
  const rolePart = parts.find((p) => middle.endsWith(`-${p}`));
  return rolePart === undefined ? { rolePart: '', createdAt } : { rolePart, createdAt };
}

export interface Pairing {
  pairs: Array<{ lease: LeaseRecord; user: DbUser }>;
  /**
   * Leases whose database user is gone (dropped outside Vault, or never created).
   * `sameSecond` > 1: that many leases of the role were issued in that second, and
   * which of them lost its user is a best guess.
   */
  leasesWithoutUser: Array<LeaseRecord & { sameSecond: number }>;
  /** v-* users no lease accounts for; `role` when the name tells which. */
  usersWithoutLease: Array<DbUser & { role?: string }>;
}

function seconds(a: Date | undefined, b: Date | undefined): number | undefined {
  return a && b ? Math.abs(a.getTime() - b.getTime()) / 1000 : undefined;
}

/**
 * `roles` are the Vault role names in view (their leases are all in `leases`);
 * users of other roles are orphans only when `allRoles` says every role is in view.
 */
/** Rank of each item within its group, in the given order. */
function ranks<T>(items: readonly T[], group: (t: T) => string, order: (a: T, b: T) => number): Map<T, number> {
  const out = new Map<T, number>();
  const groups = new Map<string, T[]>();
  for (const item of items) (groups.get(group(item)) ?? groups.set(group(item), []).get(group(item)))?.push(item);
  for (const members of groups.values()) members.sort(order).forEach((m, i) => out.set(m, i));
  return out;
}

export function pairLeases(leases: readonly LeaseRecord[], users: readonly DbUser[], roles: readonly string[], allRoles: boolean): Pairing {
  const candidates: Array<{ lease: LeaseRecord; user: DbUser; score: number }> = [];
  const parsed = new Map(users.map((u) => [u, parseUsername(u.name, roles)]));
  const second = (d: Date | undefined): number => Math.floor((d?.getTime() ?? 0) / 1000);
  const leaseRank = ranks(leases, (l) => `${l.role.slice(0, 8)}|${second(l.issueTime)}`, (a, b) => (a.issueTime?.getTime() ?? 0) - (b.issueTime?.getTime() ?? 0));
  const userRank = ranks(users, (u) => `${parsed.get(u)?.rolePart ?? ''}|${second(parsed.get(u)?.createdAt)}`, (a, b) => (a.oid ?? 0) - (b.oid ?? 0));
  for (const lease of leases) {
    for (const user of users) {
      const p = parsed.get(user);
      if (!p || p.rolePart !== lease.role.slice(0, 8)) continue;
      const issueGap = seconds(p.createdAt, lease.issueTime);
      if (issueGap === undefined || issueGap > ISSUE_SLACK_SECONDS) continue;
      const expiryGap = (seconds(user.validUntil, lease.expireTime) ?? 0) / 60;
      const orderGap = Math.abs((leaseRank.get(lease) ?? 0) - (userRank.get(user) ?? 0)) / 1000;
      candidates.push({ lease, user, score: issueGap + expiryGap + orderGap });
    }
  }
  candidates.sort((a, b) => a.score - b.score);
  const pairedLeases = new Set<LeaseRecord>();
  const pairedUsers = new Set<DbUser>();
  const pairs: Pairing['pairs'] = [];
  for (const c of candidates) {
    if (pairedLeases.has(c.lease) || pairedUsers.has(c.user)) continue;
    pairedLeases.add(c.lease);
    pairedUsers.add(c.user);
    pairs.push({ lease: c.lease, user: c.user });
  }
  const inView = new Set(roles.map((r) => r.slice(0, 8)));
  const usersWithoutLease = users
    .filter((u) => !pairedUsers.has(u))
    .flatMap((u) => {
      const rolePart = parsed.get(u)?.rolePart ?? '';
      if (!allRoles && !inView.has(rolePart)) return [];
      const role = roles.find((r) => r.slice(0, 8) === rolePart && rolePart !== '');
      return [{ ...u, ...(role !== undefined ? { role } : {}) }];
    });
  const sameSecond = (l: LeaseRecord): number => leases.filter((o) => o.role.slice(0, 8) === l.role.slice(0, 8) && second(o.issueTime) === second(l.issueTime)).length;
  return { pairs, leasesWithoutUser: leases.filter((l) => !pairedLeases.has(l)).map((l) => ({ ...l, sameSecond: sameSecond(l) })), usersWithoutLease };
}
