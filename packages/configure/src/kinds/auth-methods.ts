import { z } from 'zod';
import { unique } from '../checks.ts';
import { inFileOrder } from '../kind.ts';
import type { MountKeys, ResourceKind } from '../kind.ts';
import { mountPath, mountTuning, tuning } from '../schema-parts.ts';
import { planMounts, readMounts } from './mounts.ts';
import type { DesiredMount, LiveMount, MountTable } from './mounts.ts';

/** Auth methods Vault mounts itself. */
export const BUILTIN_AUTH_PATHS: ReadonlySet<string> = new Set(['token']);

const KUBERNETES = { section: 'auth', type: 'kubernetes', keys: { path: mountPath, type: z.literal('kubernetes'), ...mountTuning } } satisfies MountKeys;
const APPROLE = { section: 'auth', type: 'approle', keys: { path: mountPath, type: z.literal('approle'), ...mountTuning } } satisfies MountKeys;

const table: MountTable = {
  kind: 'auth-method',
  base: 'sys/auth',
  managedTypes: new Set([KUBERNETES.type, APPROLE.type]),
  builtins: BUILTIN_AUTH_PATHS,
};

/** The login path of a token, e.g. "auth/kubernetes/login" ("auth/token/root" for a root token). */
const selfPath = z.object({ data: z.object({ path: z.string().default('') }) }).transform((r) => r.data.path);

/**
 * Auth methods (sys/auth). The token method is built in and never touched; the
 * method the applying token logged in through is never pruned (the next run logs in there).
 */
export const authMethods: ResourceKind<'auth-method', 'authMounts', DesiredMount[], Map<string, LiveMount>> = {
  name: 'auth-method',
  slot: 'authMounts',
  schema: [KUBERNETES, APPROLE],
  check(file) {
    const methods = file.section('auth');
    unique(methods, (a) => String(a.path), 'path', 'auth method', file.add);
    for (const { entry, at } of methods) {
      if (BUILTIN_AUTH_PATHS.has(String(entry.path))) file.add([...at, 'path'], `"${String(entry.path)}" is a built-in auth method and cannot be managed`);
    }
  },
  load: (file) =>
    inFileOrder([...file.entries(KUBERNETES), ...file.entries(APPROLE)]).map(({ entry }) => ({ path: entry.path, type: entry.type, tuning: tuning(entry) })),
  emptyLive: () => new Map(),
  async read(client, _desired, live) {
    live.authMounts = await readMounts(client, table);
    const path = await client.request('GET', 'auth/token/lookup-self', { schema: selfPath });
    const login = /^auth\/(.+)\/login$/.exec(path ?? '')?.[1];
    if (login !== undefined) live.loginMount = login;
  },
  plan: (desired, live, options) => {
    const builtins = live.loginMount === undefined ? table.builtins : new Set([...table.builtins, live.loginMount]);
    return planMounts({ ...table, builtins }, desired.authMounts, live.authMounts, options);
  },
};
