import { ConfigureError, ConfigureErrorCode } from './errors.ts';
import type { ConfigFile } from './schema.ts';

/**
 * The identity `rotor configure` runs as: a Kubernetes auth role and the
 * policy it grants, both declared in the configuration file. Without them the
 * next run could not log in, so `--prune` never deletes either.
 */
export const CONFIGURE_ROLE = 'rotor-configure';
export const CONFIGURE_POLICY = 'rotor-configure';

/**
 * The part of a configuration that lets `rotor configure` log in on its own:
 * every auth method declaring the role `role` (with that role only, and its
 * config), and the policies that role grants. Applied once with the initial
 * root token (`rotor unseal --bootstrap-config`), which is then revoked; all
 * else is configure's own work. Secrets of the rest of the file are not read.
 */
export function bootstrapSelection(role: string = CONFIGURE_ROLE): (file: ConfigFile) => ConfigFile {
  return (file) => {
    type Method = NonNullable<ConfigFile['auth']>[number];
    const auth = (file.auth ?? []).flatMap((method): Method[] => {
      if (!(method.roles ?? []).some((r) => r.name === role)) return [];
      return [method.type === 'kubernetes' ? { ...method, roles: (method.roles ?? []).filter((r) => r.name === role) } : { ...method, roles: (method.roles ?? []).filter((r) => r.name === role) }];
    });
    if (auth.length === 0) {
      throw new ConfigureError(ConfigureErrorCode.INVALID, `no auth method of the configuration declares the role "${role}" that configure logs in with`);
    }
    const granted = new Set(auth.flatMap((method) => (method.roles ?? []).flatMap((r) => r.token_policies ?? [])));
    return { auth, policies: (file.policies ?? []).filter((p) => granted.has(p.name)) };
  };
}
