import { z } from 'zod';
import { CONFIGURE_POLICY } from '../bootstrap.ts';
import { unique } from '../checks.ts';
import type { FieldSpecs } from '../fields.ts';
import { planNamed } from '../kind.ts';
import type { OwnedSection, ResourceKind } from '../kind.ts';
import { name } from '../schema-parts.ts';
import { readAll } from '../vault-reads.ts';

/** Policies Vault creates itself: never declared, never deleted. */
export const BUILTIN_POLICIES: ReadonlySet<string> = new Set(['root', 'default']);

export interface DesiredPolicy {
  name: string;
  rules: string;
}

const POLICIES = {
  section: 'policies',
  entry: z.union([z.strictObject({ name, rules: z.string().min(1) }), z.strictObject({ name, file: z.string().min(1) })]),
} satisfies OwnedSection;

const specs: FieldSpecs = { policy: { kind: 'text', default: '' } };

/**
 * ACL policies (sys/policies/acl). root and default are built in: never declared, never deleted;
 * rotor-configure, configure's own, is never pruned either.
 */
export const policies: ResourceKind<'policy', 'policies', DesiredPolicy[], Map<string, string>> = {
  name: 'policy',
  slot: 'policies',
  schema: [POLICIES],
  check(file) {
    const declared = file.entries(POLICIES);
    unique(declared, (p) => p.name, 'name', 'policy', file.add);
    for (const { entry, at } of declared) {
      if (BUILTIN_POLICIES.has(entry.name)) file.add([...at, 'name'], `"${entry.name}" is a built-in policy and cannot be managed`);
    }
  },
  load: (file) =>
    file.entries(POLICIES).map(({ entry: p, at }) => ({ name: p.name, rules: 'rules' in p ? p.rules : file.file(p.file, [...at, 'file']) })),
  emptyLive: () => new Map(),
  async read(client, _desired, live) {
    const names = (await client.sys.listPolicies()).filter((n) => !BUILTIN_POLICIES.has(n));
    live.policies = await readAll(names, (name) => client.sys.readPolicy(name));
  },
  plan(desired, live, options) {
    return planNamed(
      {
        kind: 'policy',
        specs,
        desired: desired.policies.map((p) => ({ name: p.name, body: { policy: p.rules } })),
        live: new Map([...live.policies].map(([name, rules]) => [name, { policy: rules }])),
        path: (name) => `sys/policies/acl/${name}`,
        method: 'PUT',
        isProtected: (name) => BUILTIN_POLICIES.has(name) || name === CONFIGURE_POLICY,
      },
      options,
    );
  },
};
