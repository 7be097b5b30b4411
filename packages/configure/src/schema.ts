import { z } from 'zod';
import { DURATION_PATTERN } from './duration.ts';

// The file's keys are Vault's own API field names (snake_case), so what an
// operator knows from `vault write` carries over and bodies map one to one.
// Every object is strict: a typo must be an error, not a silently ignored key.

const name = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, { error: 'a name of letters, digits, "_", "-" and "."' });

const mountPath = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, { error: 'a mount path like "database" or "team/db" (no leading or trailing "/")' });

const DURATION_HINT = 'a duration like "90s", "15m", "1h", "7d" or whole seconds';
const duration = z.union([z.number().int().nonnegative(), z.string().regex(DURATION_PATTERN, { error: DURATION_HINT })], {
  error: DURATION_HINT,
});

const names = z.array(z.string().min(1)).min(1);

/** `{ fromEnv: NAME }` or `{ fromFile: PATH }`: secret values never live in the file. */
export const secretRef = z
  .strictObject(
    { fromEnv: z.string().min(1).optional(), fromFile: z.string().min(1).optional() },
    {
      error: (issue) =>
        issue.code === 'invalid_type'
          ? 'plaintext secrets are not allowed: use { fromEnv: NAME } or { fromFile: PATH }'
          : undefined,
    },
  )
  .refine((ref) => (ref.fromEnv === undefined) !== (ref.fromFile === undefined), {
    error: 'give exactly one of fromEnv or fromFile',
  });

/** Non-secret text that may live in another file (a CA bundle). */
const textOrFile = z.union([z.string().min(1), z.strictObject({ fromFile: z.string().min(1) })]);

const statements = z.union([z.string().min(1), z.array(z.string().min(1))]);

const mountTuning = {
  description: z.string().optional(),
  default_lease_ttl: duration.optional(),
  max_lease_ttl: duration.optional(),
};

const tokenFields = {
  token_policies: z.array(z.string().min(1)).optional(),
  token_ttl: duration.optional(),
  token_max_ttl: duration.optional(),
  token_period: duration.optional(),
};

const kubernetesRole = z.strictObject({
  name,
  bound_service_account_names: names,
  bound_service_account_namespaces: names,
  audience: z.string().optional(),
  ...tokenFields,
});

const approleRole = z.strictObject({
  name,
  bind_secret_id: z.boolean().optional(),
  secret_id_ttl: duration.optional(),
  secret_id_num_uses: z.number().int().nonnegative().optional(),
  ...tokenFields,
});

const kubernetesAuth = z.strictObject({
  path: mountPath,
  type: z.literal('kubernetes'),
  ...mountTuning,
  config: z.strictObject({
    kubernetes_host: z.url({ protocol: /^https?$/, error: 'an http(s) URL of the Kubernetes API' }),
    /** Omitted: Vault uses its pod's own CA file (in-cluster default). */
    kubernetes_ca_cert: textOrFile.optional(),
    /** Omitted: Vault reviews tokens with its pod's own service-account token (in-cluster default). */
    token_reviewer_jwt: secretRef.optional(),
    issuer: z.string().optional(),
    disable_local_ca_jwt: z.boolean().optional(),
  }),
  roles: z.array(kubernetesRole).optional(),
});

const approleAuth = z.strictObject({
  path: mountPath,
  type: z.literal('approle'),
  ...mountTuning,
  roles: z.array(approleRole).optional(),
});

const policy = z.union([
  z.strictObject({ name, rules: z.string().min(1) }),
  z.strictObject({ name, file: z.string().min(1) }),
]);

const connection = z.strictObject({
  name,
  plugin_name: z.string().min(1),
  /** A template: credentials as {{username}} and {{password}}, never literal. */
  connection_url: z.string().min(1),
  username: z.string().min(1),
  password: secretRef,
  allowed_roles: z.array(z.string().min(1)).optional(),
  verify_connection: z.boolean().optional(),
  /** Rotate the root password once after the credentials are written: afterwards only Vault knows it. */
  rotate_root: z.boolean().optional(),
});

const databaseRole = z.strictObject({
  name,
  db_name: z.string().min(1),
  creation_statements: statements,
  revocation_statements: statements.optional(),
  rollback_statements: statements.optional(),
  renew_statements: statements.optional(),
  default_ttl: duration.optional(),
  max_ttl: duration.optional(),
});

const databaseEngine = z.strictObject({
  path: mountPath,
  type: z.literal('database'),
  ...mountTuning,
  connections: z.array(connection).optional(),
  roles: z.array(databaseRole).optional(),
});

const auditDevice = z.strictObject({
  path: mountPath,
  type: z.enum(['file', 'syslog', 'socket']),
  description: z.string().optional(),
  options: z.record(z.string(), z.string()).optional(),
});

export const configSchema = z.strictObject({
  audit: z.array(auditDevice).optional(),
  auth: z.array(z.discriminatedUnion('type', [kubernetesAuth, approleAuth])).optional(),
  policies: z.array(policy).optional(),
  secrets: z.array(databaseEngine).optional(),
});

/** The file as written (before secrets, files and durations are resolved). */
export type ConfigFile = z.output<typeof configSchema>;
export type SecretRef = z.output<typeof secretRef>;
export type Duration = z.output<typeof duration>;
export type StatementsInput = z.output<typeof statements>;

/** JSON Schema of the file, for editors (yaml-language-server) and CI linters. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { target: 'draft-2020-12' }),
    title: 'Rotor Vault configuration',
  };
}
