// The MySQL/MariaDB driver, on mysql2's pool. Statements use `?` placeholders.
import mysql from 'mysql2/promise';
import type { DbConnection, DbDriver, DbErrorClass, DbErrorKind, DbLogin, DbPool, DbPoolStats, DbQueryResult, DbRow } from './driver.ts';

/** mysql2's default `connectionLimit`. */
const DEFAULT_CONNECTION_LIMIT = 10;

/** mysql2 pool settings except the login, which always comes from the source. `connectionLimit` is the pool's max. */
export type MysqlPoolSettings = Omit<mysql.PoolOptions, 'user' | 'password' | 'uri' | 'passwordSha1'>;

export function mysqlDriver(settings: MysqlPoolSettings): DbDriver {
  return {
    name: 'mysql',
    maxConnections: settings.connectionLimit ?? DEFAULT_CONNECTION_LIMIT,
    createPool: (login, onIdleError) => new MysqlPool(settings, login, onIdleError),
    classify: classifyMysqlError,
    isRevoked: credentialsRevoked,
  };
}

/** Server error codes (mysql2's `code`, named after the server's `ER_*`) and what they mean to the pool. */
const KINDS: Readonly<Record<string, DbErrorKind>> = {
  // Wrong password, or a dropped user; no access to the database: a user Vault is revoking
  // (its grants go first, then the user).
  ER_ACCESS_DENIED_ERROR: 'login-refused',
  ER_DBACCESS_DENIED_ERROR: 'login-refused',
  ER_ACCOUNT_HAS_BEEN_LOCKED: 'login-refused',
  ER_TABLEACCESS_DENIED_ERROR: 'permission-denied',
  ER_COLUMNACCESS_DENIED_ERROR: 'permission-denied',
  ER_SPECIFIC_ACCESS_DENIED_ERROR: 'permission-denied',
  ER_PROCACCESS_DENIED_ERROR: 'permission-denied',
  // The server reported that it ended the session under the statement (a shutdown, or a kill
  // it reports) instead of completing it, so the statement was rolled back. A session killed
  // without a report (MariaDB 10.11's KILL CONNECTION: the socket just closes) is a lost
  // connection: whether the statement ran is unknown, so it is never re-run.
  ER_CONNECTION_KILLED: 'backend-terminated',
  ER_SERVER_SHUTDOWN: 'backend-terminated',
  // Nothing listening (a restart) or the connection dropped while logging in: nothing ran.
  ECONNREFUSED: 'server-unavailable',
  ECONNRESET: 'server-unavailable',
};

export function classifyMysqlError(err: unknown): DbErrorClass {
  const code = typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
  const kind = (code === undefined ? undefined : KINDS[code]) ?? 'other';
  return { kind, breaksConnection: kind === 'backend-terminated' || !isStatementError(err) };
}

/**
 * An ordinary error the server reported for one statement (it has a SQLSTATE and the
 * connection carries on); anything else (a lost or closed connection, a protocol error,
 * an error thrown by the caller's code) leaves the connection in doubt.
 */
function isStatementError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { errno, sqlState, fatal } = err as { errno?: unknown; sqlState?: unknown; fatal?: unknown };
  return typeof errno === 'number' && errno > 0 && typeof sqlState === 'string' && fatal !== true;
}

/** What mysql2's core pool keeps (its counts are not in its typings). */
interface CorePoolCounts {
  _allConnections?: { length: number };
  _freeConnections?: { length: number };
  _connectionQueue?: { length: number };
}

class MysqlPool implements DbPool {
  readonly #pool: mysql.Pool;

  constructor(settings: MysqlPoolSettings, login: DbLogin, onIdleError: (err: Error) => void) {
    this.#pool = mysql.createPool({ ...settings, user: login.username, password: login.password });
    // mysql2 drops a connection that fails while idle on its own; the pool only hears of it.
    this.#pool.pool.on('connection', (connection) => connection.on('error', onIdleError));
  }

  async connect(): Promise<DbConnection> {
    return new MysqlConnection(await this.#pool.getConnection());
  }

  stats(): DbPoolStats {
    const core = this.#pool.pool as unknown as CorePoolCounts;
    return { total: core._allConnections?.length ?? 0, idle: core._freeConnections?.length ?? 0, waiting: core._connectionQueue?.length ?? 0 };
  }

  /**
   * mysql2 ends each connection with a QUIT. MariaDB serves a session on a thread rather
   * than a process, so ending them together costs the new pool little (not measured, unlike
   * PostgreSQL's one-at-a-time end).
   */
  endGradually(): Promise<void> {
    return this.#pool.end();
  }

  end(): Promise<void> {
    return this.#pool.end();
  }
}

class MysqlConnection implements DbConnection {
  readonly #connection: mysql.PoolConnection;
  readonly #onError: (err: Error) => void;
  #brokenBy: Error | undefined;

  constructor(connection: mysql.PoolConnection) {
    this.#connection = connection;
    // A socket dying under a statement must be heard, and must not crash the process.
    this.#onError = (err) => (this.#brokenBy ??= err);
    connection.connection.on('error', this.#onError);
  }

  get brokenBy(): Error | undefined {
    return this.#brokenBy;
  }

  async query<R extends DbRow = DbRow>(text: string, values?: unknown[]): Promise<DbQueryResult<R>> {
    const [result] = await this.#connection.query(text, values);
    if (Array.isArray(result)) return { rows: result as R[], rowCount: result.length };
    // INSERT, UPDATE, DELETE, BEGIN...: no rows, a count of affected ones.
    return { rows: [], rowCount: (result as mysql.ResultSetHeader).affectedRows };
  }

  /** A destroyed connection keeps its error listener while its socket closes. */
  release(broken?: Error | true): void {
    if (broken !== undefined) {
      this.#connection.destroy();
      return;
    }
    this.#connection.connection.removeListener('error', this.#onError);
    this.#connection.release();
  }
}

/**
 * Whether a permission error means revoked credentials rather than a statement the user
 * may not run: Vault's default revocation first revokes every privilege, then drops the
 * user, so the session's user holds no privilege beyond USAGE (MariaDB lists a user's own
 * privileges to it in information_schema; a dropped user has none).
 */
async function credentialsRevoked(connection: DbConnection): Promise<boolean> {
  try {
    const { rows: who } = await connection.query<{ user: string }>('SELECT CURRENT_USER() AS user');
    const current = who[0]?.user;
    if (current === undefined) return true;
    const at = current.lastIndexOf('@');
    const grantee = `'${current.slice(0, at)}'@'${current.slice(at + 1)}'`;
    const { rows } = await connection.query<{ held: number | string }>(
      `SELECT COUNT(*) AS held FROM (
         SELECT GRANTEE FROM information_schema.USER_PRIVILEGES WHERE PRIVILEGE_TYPE <> 'USAGE'
         UNION ALL SELECT GRANTEE FROM information_schema.SCHEMA_PRIVILEGES
         UNION ALL SELECT GRANTEE FROM information_schema.TABLE_PRIVILEGES
         UNION ALL SELECT GRANTEE FROM information_schema.COLUMN_PRIVILEGES) AS grants
       WHERE GRANTEE = ?`,
      [grantee],
    );
    return Number(rows[0]?.held ?? 0) === 0;
  } catch {
    return true;
  }
}
