import type { VaultClient } from '@rotor/vault-client';
import { ConfigureError, ConfigureErrorCode } from '../errors.ts';
import { diffFields } from '../fields.ts';
import type { FieldSpecs } from '../fields.ts';
import { pruned } from '../kind.ts';
import type { Body } from '../model.ts';
import type { Change, KindName, PlanOptions } from '../plan-types.ts';

// Auth methods (sys/auth) and secrets engines (sys/mounts) are both mounts:
// enabled with a type, tuned later, and never re-typed in place.

export interface DesiredMount {
  path: string;
  type: string;
  /** description, default_lease_ttl, max_lease_ttl (seconds; 0 = system default). */
  tuning: Body;
}

export interface LiveMount {
  type: string;
  /** description, default_lease_ttl, max_lease_ttl (seconds). */
  tuning: Body;
}

export const TUNING_SPECS: FieldSpecs = {
  description: { kind: 'value', default: '' },
  default_lease_ttl: { kind: 'value', default: 0 },
  max_lease_ttl: { kind: 'value', default: 0 },
};

export interface MountTable {
  kind: KindName;
  /** "sys/auth" or "sys/mounts". */
  base: string;
  /** Mount types this file can declare: only those are pruned. */
  managedTypes: ReadonlySet<string>;
  builtins: ReadonlySet<string>;
}

export async function readMounts(client: VaultClient, table: MountTable): Promise<Map<string, LiveMount>> {
  const mounts = table.base === 'sys/auth' ? await client.sys.listAuth() : await client.sys.listMounts();
  return new Map(
    mounts.map((m) => [
      m.path,
      {
        type: m.type,
        tuning: { description: m.description, default_lease_ttl: m.config.defaultLeaseTtl, max_lease_ttl: m.config.maxLeaseTtl },
      },
    ]),
  );
}

export function planMounts(
  table: MountTable,
  desired: readonly DesiredMount[],
  live: ReadonlyMap<string, LiveMount>,
  options: PlanOptions,
): Change[] {
  const changes: Change[] = [];
  for (const mount of desired) {
    const id = `${table.base}/${mount.path}`;
    const current = live.get(mount.path);
    if (current !== undefined && current.type !== mount.type) {
      // Re-typing means disabling the mount, which destroys its data and leases: an operator's decision.
      throw new ConfigureError(
        ConfigureErrorCode.CONFLICT,
        `${id} is a "${current.type}" mount, the file declares "${mount.type}": disable it by hand or choose another path`,
      );
    }
    const fields = diffFields(TUNING_SPECS, mount.tuning, current?.tuning);
    if (current === undefined) {
      const { description, ...config } = mount.tuning;
      changes.push({
        kind: table.kind,
        id,
        op: 'create',
        fields: [{ field: 'type', to: mount.type }, ...fields],
        actions: [{ method: 'POST', path: id, body: { type: mount.type, description, config }, idempotent: false }],
      });
    } else if (fields.length > 0) {
      changes.push({ kind: table.kind, id, op: 'update', fields, actions: [{ method: 'POST', path: `${id}/tune`, body: mount.tuning, idempotent: true }] });
    } else {
      changes.push({ kind: table.kind, id, op: 'unchanged', fields: [], actions: [] });
    }
  }
  const prunable = [...live].filter(([, m]) => table.managedTypes.has(m.type)).map(([path]) => path);
  const declared = desired.map((m) => m.path);
  changes.push(...pruned(table.kind, declared, prunable, (path) => `${table.base}/${path}`, options, (path) => table.builtins.has(path)));
  return changes;
}

/** Mounts the file declares that exist with the declared type: the ones whose contents are read. */
export function presentMounts<T extends { path: string; type: string }>(desired: readonly T[], live: ReadonlyMap<string, LiveMount>): T[] {
  return desired.filter((m) => live.get(m.path)?.type === m.type);
}
