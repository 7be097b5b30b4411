import type { ResourceKind } from '../kind.ts';
import { BUILTIN_AUTH_PATHS } from '../references.ts';
import { planMounts, readMounts } from './mounts.ts';
import type { MountTable } from './mounts.ts';

const table: MountTable = {
  kind: 'auth-method',
  base: 'sys/auth',
  managedTypes: new Set(['kubernetes', 'approle']),
  builtins: BUILTIN_AUTH_PATHS,
};

/** Auth methods (sys/auth). The token method is built in and never touched. */
export const authMethods: ResourceKind = {
  name: 'auth-method',
  async read(client, _desired, live) {
    live.authMounts = await readMounts(client, table);
  },
  plan: (desired, live, options) => planMounts(table, desired.auth, live.authMounts, options),
};
