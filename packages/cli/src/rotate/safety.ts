// The safety check of `rotor rotate` (docs/cli.md): a lease may be revoked when
// nothing that cannot swap credentials in place might hold it.
//   - direct mode (users-api holding its own lease): on the refused query the
//     pool asks for fresh credentials and retries the statement: no failure.
//   - init container: the file is never rendered again; the pod must be replaced.
//   - sidecar: the agent renders again only when a renewal fails, possibly
//     much later; until then queries fail. The pod must be replaced.
// A pod created after a lease was issued cannot hold it (its agent fetched
// credentials at its own start), so after a rollout the old leases can go.
import type { Consumer } from './consumers.ts';
import type { LeaseRecord } from '../leases/match.ts';

export interface LeaseVerdict {
  lease: LeaseRecord;
  /** Pods that might hold it and cannot swap in place; empty = safe to revoke. */
  blockers: Consumer[];
}

/** Pod creation and lease issue come from two clocks: a pod this close to the issue counts as older. */
export const CLOCK_SLACK_MS = 5_000;

export function judgeLeases(leases: readonly LeaseRecord[], consumers: readonly Consumer[]): LeaseVerdict[] {
  const replaceOnly = consumers.filter((c) => c.mode !== 'direct');
  return leases.map((lease) => ({
    lease,
    blockers: replaceOnly.filter((c) => c.createdAt === undefined || lease.issueTime === undefined || c.createdAt.getTime() <= lease.issueTime.getTime() + CLOCK_SLACK_MS),
  }));
}

/** What to run so that the blocking pods get new credentials, one line per owner. */
export function replacementAdvice(blockers: readonly Consumer[]): string[] {
  const seen = new Set<string>();
  const advice: string[] = [];
  for (const c of blockers) {
    // A ReplicaSet's pods belong to the Deployment named by the ReplicaSet's name minus its hash.
    const deployment = c.owner?.startsWith('ReplicaSet ') ? c.owner.slice('ReplicaSet '.length).replace(/-[a-z0-9]{6,10}$/, '') : undefined;
    const line = deployment
      ? `kubectl -n ${c.namespace} rollout restart deployment/${deployment}   (${c.mode} pods get new credentials only when replaced)`
      : `kubectl -n ${c.namespace} delete pod ${c.pod}   (${c.mode}; no Deployment owns it, recreate it the way it was made)`;
    if (!seen.has(line)) advice.push(line);
    seen.add(line);
  }
  return advice;
}
