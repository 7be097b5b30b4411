// How the postgres driver reads a failure from PostgreSQL (SQLSTATE codes).
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
 * The server terminated the backend while it ran the statement (pg_terminate_backend,
 * e.g. by a revocation, or a fast shutdown): it reported the error instead of
 * completing, so the statement's transaction was rolled back.
 */
export function isBackendTerminated(err: unknown): boolean {
  return sqlstate(err) === '57P01';
}

/**
 * The server could not take a connection right now (not listening: a restart;
 * 57P03: starting up or shutting down): nothing ran, so waiting and connecting
 * again is safe.
 */
export function isServerUnavailable(err: unknown): boolean {
  const code = sqlstate(err);
  return code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === '57P03';
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
