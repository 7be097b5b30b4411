import type { KINDS } from './kinds/index.ts';
import type { Body } from './model.ts';

/** A kind's name in plans, e.g. "database-role"; the kinds and their order are KINDS (kinds/index.ts). */
export type KindName = (typeof KINDS)[number]['name'];

export type ChangeOp = 'create' | 'update' | 'delete' | 'rotate' | 'unchanged';

/** One field that differs; values are for display (a Secret shows only its source). */
export interface FieldChange {
  field: string;
  from?: unknown;
  to?: unknown;
}

/** One write request to Vault. Bodies may hold Secret objects, revealed only when sent. */
export interface Action {
  method: 'POST' | 'PUT' | 'DELETE';
  /** API path without /v1/. */
  path: string;
  body?: Body;
  /** Whether repeating it after a lost answer is harmless (lets the client retry). */
  idempotent: boolean;
}

/** What happens to one resource, and the writes that make it so (none when unchanged). */
export interface Change {
  kind: KindName;
  /** The resource's Vault path, e.g. "database/roles/db-reader-role". */
  id: string;
  op: ChangeOp;
  /** Why, when the fields alone do not say it (e.g. root credentials not yet rotated). */
  reason?: string;
  fields: FieldChange[];
  actions: Action[];
}

export interface Plan {
  changes: Change[];
}

export interface PlanOptions {
  /** Delete resources of managed kinds that the file does not declare. */
  prune: boolean;
}

/** Number of write requests the plan would send. */
export function writeCount(plan: Plan): number {
  return plan.changes.reduce((n, c) => n + c.actions.length, 0);
}
