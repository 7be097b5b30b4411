import type { ResourceKind } from '../kind.ts';
import { BUILTIN_SECRET_PATHS } from '../references.ts';
import { planMounts, readMounts } from './mounts.ts';
import type { MountTable } from './mounts.ts';

// Only database engines can be declared, so only they are pruned: a kv or pki
// mount holding data the file cannot even describe is never deleted.
const table: MountTable = {
  kind: 'secrets-engine',
  base: 'sys/mounts',
  managedTypes: new Set(['database']),
  builtins: BUILTIN_SECRET_PATHS,
};

/** Secrets engines (sys/mounts). sys, cubbyhole and identity are built in and never touched. */
export const secretsEngines: ResourceKind = {
  name: 'secrets-engine',
  async read(client, _desired, live) {
    live.secretMounts = await readMounts(client, table);
  },
  plan: (desired, live, options) => planMounts(table, desired.secrets, live.secretMounts, options),
};
