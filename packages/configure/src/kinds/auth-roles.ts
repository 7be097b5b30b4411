import { CONFIGURE_ROLE } from '../bootstrap.ts';
import type { FieldSpecs } from '../fields.ts';
import { planNamed } from '../kind.ts';
import type { ResourceKind } from '../kind.ts';
import { listNames, readAll, readBody } from '../live.ts';
import { presentMounts } from './mounts.ts';

const tokenSpecs: FieldSpecs = {
  token_policies: { kind: 'set', default: [] },
  token_ttl: { kind: 'value', default: 0 },
  token_max_ttl: { kind: 'value', default: 0 },
  token_period: { kind: 'value', default: 0 },
};

const specsByType: Record<string, FieldSpecs> = {
  kubernetes: {
    bound_service_account_names: { kind: 'set', default: [] },
    bound_service_account_namespaces: { kind: 'set', default: [] },
    audience: { kind: 'value', default: '' },
    ...tokenSpecs,
  },
  approle: {
    bind_secret_id: { kind: 'value', default: true },
    secret_id_ttl: { kind: 'value', default: 0 },
    secret_id_num_uses: { kind: 'value', default: 0 },
    ...tokenSpecs,
  },
};

/** Roles of kubernetes and approle auth methods (auth/<path>/role/<name>); rotor-configure is never pruned. */
export const authRoles: ResourceKind = {
  name: 'auth-role',
  async read(client, desired, live) {
    for (const method of presentMounts(desired.auth, live.authMounts)) {
      const names = await listNames(client, `auth/${method.path}/role`);
      live.authRoles.set(method.path, await readAll(names, (name) => readBody(client, `auth/${method.path}/role/${name}`)));
    }
  },
  plan(desired, live, options) {
    return desired.auth.flatMap((method) =>
      planNamed(
        {
          kind: 'auth-role',
          specs: specsByType[method.type] ?? tokenSpecs,
          desired: method.roles,
          live: live.authRoles.get(method.path),
          path: (name) => `auth/${method.path}/role/${name}`,
          isProtected: (name) => name === CONFIGURE_ROLE,
        },
        options,
      ),
    );
  },
};
