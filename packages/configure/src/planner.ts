import { KINDS } from './kinds/index.ts';
import type { LiveState } from './live.ts';
import type { DesiredConfig } from './model.ts';
import type { Plan, PlanOptions } from './plan-types.ts';

/**
 * The ordered changes that make Vault match the file. Creates and updates run
 * in dependency order; deletes (only with --prune) run afterwards in reverse
 * order, so nothing is deleted while something declared still uses it. Pure
 * apart from the fresh salt of a new credentials fingerprint.
 */
export function planChanges(desired: DesiredConfig, live: LiveState, options: PlanOptions): Plan {
  const perKind = KINDS.map((kind) => kind.plan(desired, live, options));
  const upserts = perKind.flatMap((changes) => changes.filter((c) => c.op !== 'delete'));
  const deletes = [...perKind].reverse().flatMap((changes) => changes.filter((c) => c.op === 'delete'));
  return { changes: [...upserts, ...deletes] };
}
