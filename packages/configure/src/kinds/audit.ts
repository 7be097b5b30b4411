import { z } from 'zod';
import { unique } from '../checks.ts';
import { diffFields } from '../fields.ts';
import type { FieldSpecs } from '../fields.ts';
import { pruned } from '../kind.ts';
import type { OwnedSection, ResourceKind } from '../kind.ts';
import { mountPath } from '../schema-parts.ts';
import type { Change } from '../plan-types.ts';

export interface DesiredAudit {
  path: string;
  type: string;
  description: string;
  options: Record<string, string>;
}

export interface LiveAudit {
  type: string;
  description: string;
  options: Record<string, string>;
}

const DEVICES = {
  section: 'audit',
  entry: z.strictObject({
    path: mountPath,
    type: z.enum(['file', 'syslog', 'socket']),
    description: z.string().optional(),
    options: z.record(z.string(), z.string()).optional(),
  }),
} satisfies OwnedSection;

const specs: FieldSpecs = {
  type: { kind: 'value', default: '' },
  description: { kind: 'value', default: '' },
  options: { kind: 'value', default: '' },
};

const auditTable = z
  .object({
    data: z.record(z.string(), z.object({ type: z.string(), description: z.string().default(''), options: z.record(z.string(), z.string()).nullish() })),
  })
  .transform((r) => r.data);

/** Options compare as one canonical string: Vault keeps them as a flat string map. */
function optionsKey(options: Record<string, string>): string {
  return JSON.stringify(Object.entries(options).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Audit devices (sys/audit). They cannot be tuned, so any difference means
 * disable and enable again. OpenBao refuses API-enabled audit devices unless
 * its server config allows it: there, declare them in the server config instead.
 */
export const auditDevices: ResourceKind<'audit', 'audit', DesiredAudit[], Map<string, LiveAudit>> = {
  name: 'audit',
  slot: 'audit',
  schema: [DEVICES],
  check(file) {
    unique(file.entries(DEVICES), (a) => a.path, 'path', 'audit device', file.add);
  },
  load: (file) =>
    file.entries(DEVICES).map(({ entry: a }) => ({ path: a.path, type: a.type, description: a.description ?? '', options: a.options ?? {} })),
  emptyLive: () => new Map(),
  async read(client, _desired, live) {
    const table = (await client.request('GET', 'sys/audit', { schema: auditTable })) ?? {};
    live.audit = new Map(
      Object.entries(table).map(([path, d]) => [path.replace(/\/$/, ''), { type: d.type, description: d.description, options: d.options ?? {} }]),
    );
  },
  plan(desired, live, options) {
    const changes: Change[] = [];
    for (const device of desired.audit) {
      const id = `sys/audit/${device.path}`;
      const current = live.audit.get(device.path);
      const enable = { method: 'PUT' as const, path: id, body: { type: device.type, description: device.description, options: device.options }, idempotent: false };
      const fields = diffFields(
        specs,
        { ...device, options: optionsKey(device.options) },
        current === undefined ? undefined : { ...current, options: optionsKey(current.options) },
      );
      if (current === undefined) changes.push({ kind: 'audit', id, op: 'create', fields, actions: [enable] });
      else if (fields.length > 0) {
        const reason = 'audit devices cannot be tuned: disabled and enabled again';
        changes.push({ kind: 'audit', id, op: 'update', reason, fields, actions: [{ method: 'DELETE', path: id, idempotent: true }, enable] });
      } else changes.push({ kind: 'audit', id, op: 'unchanged', fields: [], actions: [] });
    }
    const declared = desired.audit.map((d) => d.path);
    changes.push(...pruned('audit', declared, live.audit.keys(), (path) => `sys/audit/${path}`, options));
    return changes;
  },
};
