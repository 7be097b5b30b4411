import { z } from 'zod';
import { located, unique } from '../checks.ts';
import { durationSeconds } from '../duration.ts';
import type { FieldSpecs } from '../fields.ts';
import { planNamed } from '../kind.ts';
import type { MountKeys, PerMount, ResourceKind } from '../kind.ts';
import type { Body, DesiredNamed } from '../model.ts';
import type { Change } from '../plan-types.ts';
import { duration, name, statements, withSeconds, withStatementLists } from '../schema-parts.ts';
import { listNames, readAll, readBody } from '../vault-reads.ts';
import { checkDbName } from './database-connections.ts';
import { presentMounts } from './mounts.ts';

const STATIC_ROLES = {
  section: 'secrets',
  type: 'database',
  keys: {
    static_roles: z
      .array(
        z.strictObject({
          name,
          db_name: z.string().min(1),
          /** An existing database user: Vault takes it over and rotates its password. */
          username: z.string().min(1),
          rotation_period: duration,
          /** Omitted: the plugin's default (PostgreSQL: ALTER ROLE ... WITH PASSWORD). */
          rotation_statements: statements.optional(),
        }),
      )
      .optional(),
  },
} satisfies MountKeys;

/** Vault checks its rotation queue every 5 s and refuses shorter periods. */
const MIN_ROTATION_PERIOD = 5;

const specs: FieldSpecs = {
  db_name: { kind: 'value', default: '' },
  username: { kind: 'value', default: '' },
  rotation_period: { kind: 'value', default: 0 },
  rotation_statements: { kind: 'list', default: [] },
};

/**
 * Static roles of database engines (<mount>/static-roles/<name>): one existing
 * database user whose password Vault rotates every rotation_period (at once
 * when the role is created); applications read it from <mount>/static-creds/<name>.
 * Vault refuses to change a static role's username, so a new username is
 * planned as delete and create (Vault then rotates the new user's password).
 */
export const databaseStaticRoles: ResourceKind<'database-static-role', 'staticRoles', PerMount<DesiredNamed>[], Map<string, Map<string, Body>>> = {
  name: 'database-static-role',
  slot: 'staticRoles',
  schema: [STATIC_ROLES],
  check(file) {
    const engines = file.section('secrets');
    for (const { entry: engine, at } of file.entries(STATIC_ROLES)) {
      const roles = located(engine.static_roles, [...at, 'static_roles']);
      unique(roles, (r) => r.name, 'name', 'static role', file.add);
      // Vault keeps one namespace for a mount's roles and static roles.
      const dynamic = engines.find((e) => e.at[1] === at[1])?.entry.roles;
      const dynamicNames = new Set(Array.isArray(dynamic) ? dynamic.map((r: { name?: unknown }) => r.name) : []);
      for (const { entry: role, at: roleAt } of roles) {
        if (dynamicNames.has(role.name)) file.add([...roleAt, 'name'], `"${role.name}" is also a role of ${engine.path}: roles and static roles share names`);
        checkDbName(file, engine.path, role, roleAt);
        if (durationSeconds(role.rotation_period) < MIN_ROTATION_PERIOD) file.add([...roleAt, 'rotation_period'], `rotation_period must be at least ${MIN_ROTATION_PERIOD}s`);
      }
    }
  },
  load: (file) =>
    file.entries(STATIC_ROLES).map(({ entry: engine }) => ({
      path: engine.path,
      type: engine.type,
      items: (engine.static_roles ?? []).map(({ name, ...fields }) => ({
        name,
        body: withSeconds(withStatementLists(fields, ['rotation_statements']), ['rotation_period']),
      })),
    })),
  emptyLive: () => new Map(),
  async read(client, desired, live) {
    for (const engine of presentMounts(desired.staticRoles, live.secretMounts)) {
      const names = await listNames(client, `${engine.path}/static-roles`);
      live.staticRoles.set(engine.path, await readAll(names, (name) => readBody(client, `${engine.path}/static-roles/${name}`)));
    }
  },
  plan(desired, live, options) {
    return desired.staticRoles.flatMap((engine) =>
      planNamed(
        { kind: 'database-static-role', specs, desired: engine.items, live: live.staticRoles.get(engine.path), path: (name) => `${engine.path}/static-roles/${name}` },
        options,
      ).map(recreateOnNewUsername),
    );
  },
};

function recreateOnNewUsername(change: Change): Change {
  if (change.op !== 'update' || !change.fields.some((f) => f.field === 'username')) return change;
  return {
    ...change,
    reason: 'a static role cannot change its username: deleted and created again',
    actions: [{ method: 'DELETE', path: change.id, idempotent: true }, ...change.actions],
  };
}
