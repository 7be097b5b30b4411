// The seam under RotatingPool: what it needs from a database client library. The
// pool keeps the generic part (generations, soft eviction, refusal recovery, the
// rotation queue, retries); a driver says how to log in, run a statement, end a
// pool and read a failure. Like pg-pool taking its Client as a parameter.

/** A result row: columns by name. `any` so that interfaces of the caller's rows fit. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type DbRow = { [column: string]: any };

/** What every driver returns for a statement (its own result may carry more). */
export interface DbQueryResult<R extends DbRow = DbRow> {
  rows: R[];
  /** Rows returned or affected; null when the server does not say. */
  rowCount: number | null;
}

/** Runs statements: a connection, or what a transaction callback gets. */
export interface DbQueryable {
  query<R extends DbRow = DbRow>(text: string, values?: unknown[]): Promise<DbQueryResult<R>>;
}

/** One checked-out connection of a DbPool. */
export interface DbConnection extends DbQueryable {
  /**
   * The error that broke the connection while it was checked out (its socket died under a
   * statement: a crashed server), if any. The driver listens for it from connect() on, so a
   * dying socket never crashes the process.
   */
  readonly brokenBy: Error | undefined;
  /** Back to the pool, or closed and dropped when `broken` (keep listening while it closes). */
  release(broken?: Error | true): void;
}

export interface DbPoolStats {
  total: number;
  idle: number;
  waiting: number;
}

/** Connections for one login. */
export interface DbPool {
  /** A connection: an idle one, a new one up to the pool's max, or the next one released. */
  connect(): Promise<DbConnection>;
  stats(): DbPoolStats;
  /** Ends a drained pool, gently enough not to disturb the pool that now serves. */
  endGradually(): Promise<void>;
  /** Ends the pool now (a pool that failed verification). */
  end(): Promise<void>;
}

/** A login the driver opens connections with. Never logged. */
export interface DbLogin {
  readonly username: string;
  readonly password: string;
}

/**
 * How the pool reads a failure, from the driver's codes:
 * - `login-refused`: the server refused the login (wrong password, expired or dropped user);
 * - `permission-denied`: legitimate, or the user lost its grants because its lease was revoked
 *   (the driver's isRevoked tells them apart);
 * - `backend-terminated`: the server ended the session while it ran the statement and rolled
 *   it back, so it is safe to run again on another connection;
 * - `server-unavailable`: no connection could be made right now (a restart): nothing ran, so
 *   connecting again is safe;
 * - `other`: anything else, handed to the caller.
 */
export type DbErrorKind = 'login-refused' | 'permission-denied' | 'backend-terminated' | 'server-unavailable' | 'other';

export interface DbErrorClass {
  readonly kind: DbErrorKind;
  /** The connection that raised it must be discarded, not returned to the pool. */
  readonly breaksConnection: boolean;
}

/**
 * A database client library behind RotatingPool, holding the pool settings without the
 * login (host, port, database, max, TLS...): the login always comes from the credential source.
 */
export interface DbDriver {
  /** For logs and errors: 'postgres', 'mysql'. */
  readonly name: string;
  /** The most connections one pool opens. */
  readonly maxConnections: number;
  /**
   * A pool for `login`. `onIdleError` hears connections that fail while idle in the pool
   * (a server restart, a terminated session): they must never crash the process.
   */
  createPool(login: DbLogin, onIdleError: (err: Error) => void): DbPool;
  classify(err: unknown): DbErrorClass;
  /**
   * Whether a permission error on `connection` means revoked credentials rather than a
   * statement the user may not run: a catalog query (the user is gone, or holds no grant).
   * When the catalog cannot be read, revoked.
   */
  isRevoked(connection: DbConnection, username: string): Promise<boolean>;
}
