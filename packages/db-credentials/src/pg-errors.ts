// How the pool reads a failure from PostgreSQL (SQLSTATE codes).
import pg from 'pg';

/** The server refused the login: wrong password, expired VALID UNTIL, or a dropped role. */
export function isLoginRefused(err: unknown): boolean {
  const code = sqlstate(err);
  return code === '28P01' || code === '28000';
}

/** Permission denied: legitimate, or the role lost its grants because its lease was revoked. */
export function isPermissionDenied(err: unknown): boolean {
  return sqlstate(err) === '42501';
}

/**
 * Whether the connection that raised `err` must be discarded rather than
 * returned to the pool: anything that is not an ordinary SQL error, plus
 * "operator intervention" (57: terminated backends) and connection exceptions (08).
 */
export function breaksConnection(err: unknown): boolean {
  if (!(err instanceof pg.DatabaseError)) return true;
  const code = err.code ?? '';
  return code.startsWith('57') || code.startsWith('08');
}

function sqlstate(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  return typeof err.code === 'string' ? err.code : undefined;
}
