import { durationSeconds } from './duration.ts';
import type { IssuePath } from './locate.ts';
import type { ConfigFile, Duration } from './schema.ts';

export interface ReferenceProblem {
  path: IssuePath;
  message: string;
}

/** Policies Vault creates itself: never declared, never deleted. */
export const BUILTIN_POLICIES: ReadonlySet<string> = new Set(['root', 'default']);
/** Auth methods and secrets engines Vault mounts itself. */
export const BUILTIN_AUTH_PATHS: ReadonlySet<string> = new Set(['token']);
export const BUILTIN_SECRET_PATHS: ReadonlySet<string> = new Set(['sys', 'cubbyhole', 'identity']);

/**
 * Checks what the schema alone cannot: names unique, built-ins left alone,
 * and every reference (role -> policy, role -> connection, allowed_roles ->
 * role) pointing at something the file declares. Pure.
 */
export function checkReferences(file: ConfigFile): ReferenceProblem[] {
  const problems: ReferenceProblem[] = [];
  const add = (path: IssuePath, message: string): void => {
    problems.push({ path, message });
  };

  unique(file.audit ?? [], (a) => a.path, ['audit'], 'path', 'audit device', add);
  unique(file.auth ?? [], (a) => a.path, ['auth'], 'path', 'auth method', add);
  unique(file.secrets ?? [], (s) => s.path, ['secrets'], 'path', 'secrets engine', add);
  unique(file.policies ?? [], (p) => p.name, ['policies'], 'name', 'policy', add);

  (file.policies ?? []).forEach((p, i) => {
    if (BUILTIN_POLICIES.has(p.name)) add(['policies', i, 'name'], `"${p.name}" is a built-in policy and cannot be managed`);
  });
  (file.auth ?? []).forEach((a, i) => {
    if (BUILTIN_AUTH_PATHS.has(a.path)) add(['auth', i, 'path'], `"${a.path}" is a built-in auth method and cannot be managed`);
  });
  (file.secrets ?? []).forEach((s, i) => {
    if (BUILTIN_SECRET_PATHS.has(s.path)) add(['secrets', i, 'path'], `"${s.path}" is a built-in mount and cannot be managed`);
  });

  const policies = new Set([...(file.policies ?? []).map((p) => p.name), 'default']);
  (file.auth ?? []).forEach((method, i) => {
    const roles: readonly { name: string; token_policies?: string[] | undefined; token_ttl?: Duration | undefined; token_max_ttl?: Duration | undefined }[] =
      method.roles ?? [];
    unique(roles, (r) => r.name, ['auth', i, 'roles'], 'name', 'role', add);
    roles.forEach((role, j) => {
      const at = ['auth', i, 'roles', j];
      (role.token_policies ?? []).forEach((p, k) => {
        if (!policies.has(p)) add([...at, 'token_policies', k], `policy "${p}" is not declared in policies`);
      });
      ttlOrder(role.token_ttl, role.token_max_ttl, [...at, 'token_ttl'], 'token_ttl', 'token_max_ttl', add);
    });
  });

  (file.secrets ?? []).forEach((engine, i) => {
    const connections = engine.connections ?? [];
    const roles = engine.roles ?? [];
    unique(connections, (c) => c.name, ['secrets', i, 'connections'], 'name', 'connection', add);
    unique(roles, (r) => r.name, ['secrets', i, 'roles'], 'name', 'role', add);
    const roleNames = new Set(roles.map((r) => r.name));
    connections.forEach((c, j) => {
      const at = ['secrets', i, 'connections', j];
      if (/:\/\/[^/@]*:(?!\{\{password\}\}@)[^/@]*@/.test(c.connection_url)) {
        add([...at, 'connection_url'], 'plaintext secrets are not allowed: write {{password}} in connection_url and set password: { fromEnv: NAME }');
      }
      (c.allowed_roles ?? []).forEach((r, k) => {
        if (r !== '*' && !roleNames.has(r)) add([...at, 'allowed_roles', k], `role "${r}" is not declared in roles of ${engine.path}`);
      });
    });
    roles.forEach((role, j) => {
      const at = ['secrets', i, 'roles', j];
      const connection = connections.find((c) => c.name === role.db_name);
      if (connection === undefined) {
        add([...at, 'db_name'], `connection "${role.db_name}" is not declared in connections of ${engine.path}`);
      } else if (!(connection.allowed_roles ?? []).some((r) => r === '*' || r === role.name)) {
        add([...at, 'db_name'], `role "${role.name}" is not in allowed_roles of connection "${role.db_name}"`);
      }
      ttlOrder(role.default_ttl, role.max_ttl, [...at, 'default_ttl'], 'default_ttl', 'max_ttl', add);
    });
  });
  return problems;
}

function unique<T>(
  items: readonly T[],
  key: (item: T) => string,
  at: IssuePath,
  field: string,
  what: string,
  add: (path: IssuePath, message: string) => void,
): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const k = key(item);
    if (seen.has(k)) add([...at, i, field], `${what} "${k}" is declared twice`);
    seen.add(k);
  });
}

function ttlOrder(
  ttl: Duration | undefined,
  max: Duration | undefined,
  at: IssuePath,
  ttlName: string,
  maxName: string,
  add: (path: IssuePath, message: string) => void,
): void {
  if (ttl === undefined || max === undefined) return;
  const [t, m] = [durationSeconds(ttl), durationSeconds(max)];
  if (m > 0 && t > m) add(at, `${ttlName} is longer than ${maxName}`);
}
