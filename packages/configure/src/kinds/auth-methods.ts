import { z } from 'zod';
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

/** The login path of a token, e.g. "auth/kubernetes/login" ("auth/token/root" for a root token). */
const selfPath = z.object({ data: z.object({ path: z.string().default('') }) }).transform((r) => r.data.path);

/**
 * Auth methods (sys/auth). The token method is built in and never touched; the
 * method the applying token logged in through is never pruned (the next run logs in there).
 */
export const authMethods: ResourceKind = {
  name: 'auth-method',
  async read(client, _desired, live) {
    live.authMounts = await readMounts(client, table);
    const path = await client.request('GET', 'auth/token/lookup-self', { schema: selfPath });
    const login = /^auth\/(.+)\/login$/.exec(path ?? '')?.[1];
    if (login !== undefined) live.loginMount = login;
  },
  plan: (desired, live, options) => {
    const builtins = live.loginMount === undefined ? table.builtins : new Set([...table.builtins, live.loginMount]);
    return planMounts({ ...table, builtins }, desired.auth, live.authMounts, options);
  },
};
