import { ConfigureError, ConfigureErrorCode } from './errors.ts';
import type { ConfigEntry, ConfigFile } from './schema.ts';

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
    // Only the keys used here; the entries passed the schema, so they are there when declared.
    type Role = { name: string; token_policies?: string[] };
    const auth = ((file.auth ?? []) as readonly (ConfigEntry & { roles?: Role[] })[]).flatMap((method) => {
      const roles = (method.roles ?? []).filter((r) => r.name === role);
      return roles.length === 0 ? [] : [{ ...method, roles }];
    });
    if (auth.length === 0) {
      throw new ConfigureError(ConfigureErrorCode.INVALID, `no auth method of the configuration declares the role "${role}" that configure logs in with`);
    }
    const granted = new Set(auth.flatMap((method) => method.roles.flatMap((r) => r.token_policies ?? [])));
    return { auth, policies: (file.policies ?? []).filter((p) => granted.has(String(p.name))) };
  };
}
