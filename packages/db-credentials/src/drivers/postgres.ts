// The PostgreSQL driver, on node-postgres (pg): everything RotatingPool knows of pg.
import pg from 'pg';
import { setTimeout as delay } from 'node:timers/promises';
import type { DbConnection, DbDriver, DbErrorClass, DbLogin, DbPool, DbPoolStats, DbQueryResult, DbRow } from './driver.ts';
import { breaksConnection, isBackendTerminated, isLoginRefused, isPermissionDenied, isServerUnavailable } from './postgres-errors.ts';

/** pg.Pool's default `max`. */
const DEFAULT_POOL_MAX = 10;

/** The longest pause between two connections closed by endGradually. */
const MAX_CLOSE_PAUSE_MS = 50;

/** pg Pool settings except the login, which always comes from the source. */
export type PoolSettings = Omit<pg.PoolConfig, 'user' | 'password' | 'connectionString'>;

export function postgresDriver(settings: PoolSettings): DbDriver {
  return {
    name: 'postgres',
    maxConnections: settings.max ?? DEFAULT_POOL_MAX,
    createPool: (login, onIdleError) => new PostgresPool(settings, login, onIdleError),
    classify: classifyPostgresError,
    isRevoked: credentialsRevoked,
  };
}

export function classifyPostgresError(err: unknown): DbErrorClass {
  const kind = isLoginRefused(err)
    ? 'login-refused'
    : isPermissionDenied(err)
      ? 'permission-denied'
      : isBackendTerminated(err)
        ? 'backend-terminated'
        : isServerUnavailable(err)
          ? 'server-unavailable'
          : 'other';
  return { kind, breaksConnection: breaksConnection(err) };
}

class PostgresPool implements DbPool {
  readonly #pool: pg.Pool;

  constructor(settings: PoolSettings, login: DbLogin, onIdleError: (err: Error) => void) {
    this.#pool = new pg.Pool({ ...settings, user: login.username, password: login.password });
    this.#pool.on('error', onIdleError);
  }

  // pg's callback form: one promise per checkout (ours) rather than pg's own, an async
  // frame's and an await's (this is on every query's path).
  connect(): Promise<DbConnection> {
    return new Promise((resolve, reject) => {
      this.#pool.connect((err, client) => (client !== undefined && err === undefined ? resolve(new PostgresConnection(client)) : reject(err ?? new Error('pg gave no client'))));
    });
  }

  stats(): DbPoolStats {
    return { total: this.#pool.totalCount, idle: this.#pool.idleCount, waiting: this.#pool.waitingCount };
  }

  /**
   * Ends a drained pool one connection at a time, each once the previous one is closed and a
   * pause as long as that took (capped): ending them all at once makes PostgreSQL tear every
   * backend down in the same instant, on the cores that run the new pool's queries (measured:
   * most of a rotation window's p99 on a quiet machine).
   */
  async endGradually(): Promise<void> {
    const pool = this.#pool;
    while (pool.idleCount > 0 && !pool.ending) {
      const client = await pool.connect().catch(() => undefined);
      if (client === undefined) break;
      const removed = new Promise<void>((resolve) => {
        const onRemove = (c: pg.PoolClient): void => {
          if (c !== client) return;
          pool.removeListener('remove', onRemove);
          resolve();
        };
        pool.on('remove', onRemove);
      });
      const began = performance.now();
      new PostgresConnection(client).release(true);
      // A connection that never reports its end must not hold the close up.
      await Promise.race([removed, delay(1_000)]);
      if (pool.idleCount > 0) await delay(Math.min(MAX_CLOSE_PAUSE_MS, performance.now() - began));
    }
    await pool.end();
  }

  end(): Promise<void> {
    return this.#pool.end();
  }
}

class PostgresConnection implements DbConnection {
  readonly #client: pg.PoolClient;
  readonly #onError: (err: Error) => void;
  #brokenBy: Error | undefined;

  constructor(client: pg.PoolClient) {
    this.#client = client;
    // A checked-out client has no pool listener: a socket that dies under a running query
    // (a crashed server) emits 'error' on the client, which would otherwise crash the process.
    this.#onError = (err) => (this.#brokenBy ??= err);
    client.on('error', this.#onError);
  }

  get brokenBy(): Error | undefined {
    return this.#brokenBy;
  }

  query<R extends DbRow = DbRow>(text: string, values?: unknown[]): Promise<DbQueryResult<R>> {
    return this.#client.query<R>(text, values);
  }

  /**
   * A discarded client keeps its error listener: its backend may still send an error (e.g.
   * 57P01 when a revocation terminates its sessions) while it closes, and an 'error' with no
   * listener would crash the process. A returned client gets the pool's idle listener instead.
   */
  release(broken?: Error | true): void {
    this.#client.release(broken);
    if (broken === undefined) this.#client.removeListener('error', this.#onError);
  }
}

/**
 * Whether a permission error means revoked credentials rather than a query the
 * role may not run: Vault's revocation first revokes every table privilege,
 * then drops the role, so the role is either gone or holds no table grant.
 */
async function credentialsRevoked(connection: DbConnection, username: string): Promise<boolean> {
  try {
    const { rows } = await connection.query<{ revoked: boolean }>(
      `SELECT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1)
           OR NOT EXISTS (SELECT 1 FROM information_schema.role_table_grants WHERE grantee = $1) AS revoked`,
      [username],
    );
    return rows[0]?.revoked ?? true;
  } catch {
    return true;
  }
}
