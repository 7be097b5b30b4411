import type { FieldSpecs } from '../fields.ts';
import { planNamed } from '../kind.ts';
import type { ResourceKind } from '../kind.ts';
import { readAll } from '../live.ts';
import { CONFIGURE_POLICY } from '../bootstrap.ts';
import { BUILTIN_POLICIES } from '../references.ts';

const specs: FieldSpecs = { policy: { kind: 'text', default: '' } };

/**
 * ACL policies (sys/policies/acl). root and default are built in: never declared, never deleted;
 * rotor-configure, configure's own, is never pruned either.
 */
export const policies: ResourceKind = {
  name: 'policy',
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
