import { z } from 'zod';
import { diffFields } from '../fields.ts';
import type { FieldSpecs } from '../fields.ts';
import { pruned } from '../kind.ts';
import type { ResourceKind } from '../kind.ts';
import type { Change } from '../plan-types.ts';

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
export const auditDevices: ResourceKind = {
  name: 'audit',
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
