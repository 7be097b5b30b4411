// The JSON document Vault Agent renders from templates/db-creds.json.ctmpl.
import { z } from 'zod';
import { createDbCredentials, type DbCredentials } from './credentials.ts';

const AgentFile = z.object({
  username: z.string().min(1),
  password: z.string().min(1),
  lease_id: z.string().min(1),
  lease_duration: z.number().int().nonnegative(),
  renewable: z.boolean(),
  /** Unix seconds at render time; without it the file's mtime stands in. */
  issued_at: z.number().int().positive().optional(),
});

export type AgentFileProblem = 'missing' | 'unreadable' | 'empty' | 'invalid-json' | 'invalid-schema';

export type AgentFileParse =
  | { ok: true; creds: DbCredentials }
  | { ok: false; problem: AgentFileProblem; /** Field paths only, never values. */ fields?: string[] };

/**
 * Parses a rendered credentials file. A problem report names the kind of
 * problem and the offending field names, never any content of the file.
 * Expiry = issue time + lease_duration: the agent may renew the lease beyond
 * it, so it is a safe lower bound.
 */
export function parseAgentFile(text: string, mtimeMs: number): AgentFileParse {
  if (text.trim() === '') return { ok: false, problem: 'empty' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'invalid-json' };
  }
  const parsed = AgentFile.safeParse(json);
  if (!parsed.success) {
    return { ok: false, problem: 'invalid-schema', fields: [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(root)'))] };
  }
  const doc = parsed.data;
  const issuedAtMs = doc.issued_at === undefined ? mtimeMs : doc.issued_at * 1000;
  return {
    ok: true,
    creds: createDbCredentials({
      username: doc.username,
      password: doc.password,
      leaseId: doc.lease_id,
      leaseDuration: doc.lease_duration,
      renewable: doc.renewable,
      expiresAt: doc.lease_duration > 0 ? new Date(issuedAtMs + doc.lease_duration * 1000) : undefined,
    }),
  };
}
