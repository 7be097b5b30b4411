import type { FieldSpecs } from '../fields.ts';
import { planNamed } from '../kind.ts';
import type { ResourceKind } from '../kind.ts';
import { listNames, readAll, readBody } from '../live.ts';
import { presentMounts } from './mounts.ts';

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
export const databaseRoles: ResourceKind = {
  name: 'database-role',
  async read(client, desired, live) {
    for (const engine of presentMounts(desired.secrets, live.secretMounts)) {
      const names = await listNames(client, `${engine.path}/roles`);
      live.databaseRoles.set(engine.path, await readAll(names, (name) => readBody(client, `${engine.path}/roles/${name}`)));
    }
  },
  plan(desired, live, options) {
    return desired.secrets.flatMap((engine) =>
      planNamed(
        { kind: 'database-role', specs, desired: engine.roles, live: live.databaseRoles.get(engine.path), path: (name) => `${engine.path}/roles/${name}` },
        options,
      ),
    );
  },
};
