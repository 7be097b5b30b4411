import { z } from 'zod';
import { DURATION_PATTERN, durationSeconds } from './duration.ts';
import type { Body } from './model.ts';

// The building blocks of kinds' schema fragments. The file's keys are Vault's
// own API field names (snake_case), so what an operator knows from `vault
// write` carries over and bodies map one to one. Every object is strict: a
// typo must be an error, not a silently ignored key.

export const name = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, { error: 'a name of letters, digits, "_", "-" and "."' });

export const mountPath = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, { error: 'a mount path like "database" or "team/db" (no leading or trailing "/")' });

const DURATION_HINT = 'a duration like "90s", "15m", "1h", "7d" or whole seconds';
export const duration = z.union([z.number().int().nonnegative(), z.string().regex(DURATION_PATTERN, { error: DURATION_HINT })], {
  error: DURATION_HINT,
});

export const names = z.array(z.string().min(1)).min(1);

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
export const textOrFile = z.union([z.string().min(1), z.strictObject({ fromFile: z.string().min(1) })]);

/** SQL: one statement or a list. */
export const statements = z.union([z.string().min(1), z.array(z.string().min(1))]);

/** Keys every mount (auth method, secrets engine) takes besides path and type. */
export const mountTuning = {
  description: z.string().optional(),
  default_lease_ttl: duration.optional(),
  max_lease_ttl: duration.optional(),
};

export type SecretRef = z.output<typeof secretRef>;
export type Duration = z.output<typeof duration>;
export type StatementsInput = z.output<typeof statements>;

/** The fields with the given names as seconds (Vault reads durations back as seconds). */
export function withSeconds(fields: Record<string, unknown>, durations: readonly string[]): Body {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, durations.includes(k) ? durationSeconds(v as Duration) : v]));
}

/** Vault stores statements as a list; one string is a one-element list. */
export function withStatementLists(fields: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out = { ...fields };
  for (const key of keys) {
    const value = out[key] as StatementsInput | undefined;
    if (typeof value === 'string') out[key] = [value];
  }
  return out;
}

/** Mount tuning as Vault answers it: description, and TTLs in seconds (0 = system default). */
export function tuning(mount: { description?: string | undefined; default_lease_ttl?: Duration | undefined; max_lease_ttl?: Duration | undefined }): Body {
  return {
    description: mount.description ?? '',
    default_lease_ttl: durationSeconds(mount.default_lease_ttl ?? 0),
    max_lease_ttl: durationSeconds(mount.max_lease_ttl ?? 0),
  };
}
