import { z } from 'zod';
import { located, ttlOrder, unique } from '../checks.ts';
import type { FieldSpecs } from '../fields.ts';
import { planNamed } from '../kind.ts';
import type { MountKeys, PerMount, ResourceKind } from '../kind.ts';
import type { Body, DesiredNamed } from '../model.ts';
import { duration, name, statements, withSeconds, withStatementLists } from '../schema-parts.ts';
import { listNames, readAll, readBody } from '../vault-reads.ts';
import { checkDbName } from './database-connections.ts';
import { presentMounts } from './mounts.ts';

const ROLES = {
  section: 'secrets',
  type: 'database',
  keys: {
    roles: z
      .array(
        z.strictObject({
          name,
          db_name: z.string().min(1),
          creation_statements: statements.meta({
            examples: [
              [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`, 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";'],
              [`CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';`, `GRANT SELECT ON app.* TO '{{name}}'@'%';`],
            ],
          }),
          revocation_statements: statements.optional(),
          rollback_statements: statements.optional(),
          renew_statements: statements.optional(),
          default_ttl: duration.optional(),
          max_ttl: duration.optional(),
        }),
      )
      .optional(),
  },
} satisfies MountKeys;

const STATEMENTS = ['creation_statements', 'revocation_statements', 'rollback_statements', 'renew_statements'];

const specs: FieldSpecs = {
  db_name: { kind: 'value', default: '' },
  creation_statements: { kind: 'list', default: [] },
  revocation_statements: { kind: 'list', default: [] },
  rollback_statements: { kind: 'list', default: [] },
  renew_statements: { kind: 'list', default: [] },
  default_ttl: { kind: 'value', default: 0 },
  max_ttl: { kind: 'value', default: 0 },
};

/** Dynamic roles of database engines (<mount>/roles/<name>). */
export const databaseRoles: ResourceKind<'database-role', 'databaseRoles', PerMount<DesiredNamed>[], Map<string, Map<string, Body>>> = {
  name: 'database-role',
  slot: 'databaseRoles',
  schema: [ROLES],
  check(file) {
    for (const { entry: engine, at } of file.entries(ROLES)) {
      const roles = located(engine.roles, [...at, 'roles']);
      unique(roles, (r) => r.name, 'name', 'role', file.add);
      for (const { entry: role, at: roleAt } of roles) {
        checkDbName(file, engine.path, role, roleAt);
        ttlOrder(role.default_ttl, role.max_ttl, [...roleAt, 'default_ttl'], 'default_ttl', 'max_ttl', file.add);
      }
    }
  },
  load: (file) =>
    file.entries(ROLES).map(({ entry: engine }) => ({
      path: engine.path,
      type: engine.type,
      items: (engine.roles ?? []).map(({ name, ...fields }) => ({ name, body: withSeconds(withStatementLists(fields, STATEMENTS), ['default_ttl', 'max_ttl']) })),
    })),
  emptyLive: () => new Map(),
  async read(client, desired, live) {
    for (const engine of presentMounts(desired.databaseRoles, live.secretMounts)) {
      const names = await listNames(client, `${engine.path}/roles`);
      live.databaseRoles.set(engine.path, await readAll(names, (name) => readBody(client, `${engine.path}/roles/${name}`)));
    }
  },
  plan(desired, live, options) {
    return desired.databaseRoles.flatMap((engine) =>
      planNamed(
        { kind: 'database-role', specs, desired: engine.items, live: live.databaseRoles.get(engine.path), path: (name) => `${engine.path}/roles/${name}` },
        options,
      ),
    );
  },
};
