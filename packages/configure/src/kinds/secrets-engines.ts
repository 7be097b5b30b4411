import { z } from 'zod';
import { unique } from '../checks.ts';
import type { MountKeys, ResourceKind } from '../kind.ts';
import { mountPath, mountTuning, tuning } from '../schema-parts.ts';
import { planMounts, readMounts } from './mounts.ts';
import type { DesiredMount, LiveMount, MountTable } from './mounts.ts';

/** Mounts Vault makes itself. */
export const BUILTIN_SECRET_PATHS: ReadonlySet<string> = new Set(['sys', 'cubbyhole', 'identity']);

const DATABASE = { section: 'secrets', type: 'database', keys: { path: mountPath, type: z.literal('database'), ...mountTuning } } satisfies MountKeys;

// Only database engines can be declared, so only they are pruned: a kv or pki
// mount holding data the file cannot even describe is never deleted.
const table: MountTable = {
  kind: 'secrets-engine',
  base: 'sys/mounts',
  managedTypes: new Set([DATABASE.type]),
  builtins: BUILTIN_SECRET_PATHS,
};

/** Secrets engines (sys/mounts). sys, cubbyhole and identity are built in and never touched. */
export const secretsEngines: ResourceKind<'secrets-engine', 'secretMounts', DesiredMount[], Map<string, LiveMount>> = {
  name: 'secrets-engine',
  slot: 'secretMounts',
  schema: [DATABASE],
  check(file) {
    const engines = file.section('secrets');
    unique(engines, (s) => String(s.path), 'path', 'secrets engine', file.add);
    for (const { entry, at } of engines) {
      if (BUILTIN_SECRET_PATHS.has(String(entry.path))) file.add([...at, 'path'], `"${String(entry.path)}" is a built-in mount and cannot be managed`);
    }
  },
  load: (file) => file.entries(DATABASE).map(({ entry }) => ({ path: entry.path, type: entry.type, tuning: tuning(entry) })),
  emptyLive: () => new Map(),
  async read(client, _desired, live) {
    live.secretMounts = await readMounts(client, table);
  },
  plan: (desired, live, options) => planMounts(table, desired.secretMounts, live.secretMounts, options),
};
