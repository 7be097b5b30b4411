import type { VaultClient } from '@rotor/vault-client';
import { diffFields, fullBody } from './fields.ts';
import type { FieldSpecs } from './fields.ts';
import type { LiveState } from './live.ts';
import type { Body, DesiredConfig } from './model.ts';
import type { Action, Change, KindName, PlanOptions } from './plan-types.ts';

/**
 * One Vault resource kind: how to read it (thin I/O) and how to plan it
 * (pure). The orchestrators call every kind in KIND_ORDER.
 */
export interface ResourceKind {
  readonly name: KindName;
  /** Reads this kind's live state into `live`; earlier kinds (mounts) are already there. */
  read(client: VaultClient, desired: DesiredConfig, live: LiveState): Promise<void>;
  /** The changes that make Vault match the file. Pure. */
  plan(desired: DesiredConfig, live: LiveState, options: PlanOptions): Change[];
}

export interface NamedResources {
  kind: KindName;
  specs: FieldSpecs;
  desired: readonly { name: string; body: Body }[];
  live: ReadonlyMap<string, Body> | undefined;
  /** The resource's path, e.g. "database/roles/<name>". */
  path: (name: string) => string;
  /** Write method: PUT for policies, POST for the rest. */
  method?: 'POST' | 'PUT';
  /** Resources that must never be deleted (built-ins). */
  isProtected?: (name: string) => boolean;
}

/**
 * The usual kind of resource: a named body that is written whole and deleted
 * by path. Declared ones are created or updated, undeclared ones deleted with
 * --prune (built-ins never).
 */
export function planNamed(r: NamedResources, options: PlanOptions): Change[] {
  const changes: Change[] = [];
  for (const { name, body } of r.desired) {
    const live = r.live?.get(name);
    const fields = diffFields(r.specs, body, live);
    const op = live === undefined ? 'create' : fields.length > 0 ? 'update' : 'unchanged';
    const actions: Action[] =
      op === 'unchanged' ? [] : [{ method: r.method ?? 'POST', path: r.path(name), body: fullBody(r.specs, body), idempotent: true }];
    changes.push({ kind: r.kind, id: r.path(name), op, fields, actions });
  }
  changes.push(...pruned(r.kind, r.desired.map((d) => d.name), r.live?.keys() ?? [], r.path, options, r.isProtected));
  return changes;
}

/** Deletions of live resources the file does not declare, with --prune only; protected ones never. */
export function pruned(
  kind: KindName,
  declared: Iterable<string>,
  live: Iterable<string>,
  path: (name: string) => string,
  options: PlanOptions,
  isProtected: (name: string) => boolean = () => false,
): Change[] {
  if (!options.prune) return [];
  const names = new Set(declared);
  return [...live].filter((n) => !names.has(n) && !isProtected(n)).map((n) => deletion(kind, path(n)));
}

export function deletion(kind: KindName, path: string): Change {
  return { kind, id: path, op: 'delete', fields: [], actions: [{ method: 'DELETE', path, idempotent: true }] };
}
