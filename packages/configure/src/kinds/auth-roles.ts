import { z } from 'zod';
import { CONFIGURE_ROLE } from '../bootstrap.ts';
import { located, ttlOrder, unique } from '../checks.ts';
import type { FieldSpecs } from '../fields.ts';
import { inFileOrder, planNamed } from '../kind.ts';
import type { MountKeys, PerMount, ResourceKind } from '../kind.ts';
import type { Body, DesiredNamed } from '../model.ts';
import { duration, name, names, withSeconds } from '../schema-parts.ts';
import { listNames, readAll, readBody } from '../vault-reads.ts';
import { presentMounts } from './mounts.ts';

const tokenFields = {
  token_policies: z.array(z.string().min(1)).optional(),
  token_ttl: duration.optional(),
  token_max_ttl: duration.optional(),
  token_period: duration.optional(),
};

const KUBERNETES = {
  section: 'auth',
  type: 'kubernetes',
  keys: {
    roles: z
      .array(
        z.strictObject({
          name,
          bound_service_account_names: names,
          bound_service_account_namespaces: names,
          audience: z.string().optional(),
          ...tokenFields,
        }),
      )
      .optional(),
  },
} satisfies MountKeys;

const APPROLE = {
  section: 'auth',
  type: 'approle',
  keys: {
    roles: z
      .array(
        z.strictObject({
          name,
          bind_secret_id: z.boolean().optional(),
          secret_id_ttl: duration.optional(),
          secret_id_num_uses: z.number().int().nonnegative().optional(),
          ...tokenFields,
        }),
      )
      .optional(),
  },
} satisfies MountKeys;

/** What every role of an auth method has. */
type TokenRole = { name: string } & { [K in keyof typeof tokenFields]?: z.output<(typeof tokenFields)[K]> };

const DURATIONS = ['token_ttl', 'token_max_ttl', 'token_period', 'secret_id_ttl'];

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
export const authRoles: ResourceKind<'auth-role', 'authRoles', PerMount<DesiredNamed>[], Map<string, Map<string, Body>>> = {
  name: 'auth-role',
  slot: 'authRoles',
  schema: [KUBERNETES, APPROLE],
  check(file) {
    const policies = new Set([...file.section('policies').map((p) => String(p.entry.name)), 'default']);
    for (const { entry, at } of [...file.entries(KUBERNETES), ...file.entries(APPROLE)]) {
      const roles = located<TokenRole>(entry.roles, [...at, 'roles']);
      unique(roles, (r) => r.name, 'name', 'role', file.add);
      for (const { entry: role, at: roleAt } of roles) {
        (role.token_policies ?? []).forEach((p, k) => {
          if (!policies.has(p)) file.add([...roleAt, 'token_policies', k], `policy "${p}" is not declared in policies`);
        });
        ttlOrder(role.token_ttl, role.token_max_ttl, [...roleAt, 'token_ttl'], 'token_ttl', 'token_max_ttl', file.add);
      }
    }
  },
  load: (file) =>
    inFileOrder([...file.entries(KUBERNETES), ...file.entries(APPROLE)]).map(({ entry }) => ({
      path: entry.path,
      type: entry.type,
      items: (entry.roles ?? []).map(({ name, ...fields }) => ({ name, body: withSeconds(fields, DURATIONS) })),
    })),
  emptyLive: () => new Map(),
  async read(client, desired, live) {
    for (const method of presentMounts(desired.authRoles, live.authMounts)) {
      const names = await listNames(client, `auth/${method.path}/role`);
      live.authRoles.set(method.path, await readAll(names, (name) => readBody(client, `auth/${method.path}/role/${name}`)));
    }
  },
  plan(desired, live, options) {
    return desired.authRoles.flatMap((method) =>
      planNamed(
        {
          kind: 'auth-role',
          specs: specsByType[method.type] ?? tokenSpecs,
          desired: method.items,
          live: live.authRoles.get(method.path),
          path: (name) => `auth/${method.path}/role/${name}`,
          isProtected: (name) => name === CONFIGURE_ROLE,
        },
        options,
      ),
    );
  },
};
