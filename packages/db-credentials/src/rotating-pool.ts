import type { Logger } from 'pino';
import { errorSummary } from '@rotor/vault-client';
import { describeCredentials, sameLogin, type DbCredentials } from './credentials.ts';
import { DbCredentialsError } from './errors.ts';
import { Lifecycle } from './lifecycle.ts';
import { silentLogger } from './logger.ts';
import { CredentialMetrics, type PoolStats } from './metrics.ts';
import type { DbConnection, DbDriver, DbPool, DbQueryable, DbQueryResult, DbRow } from './drivers/driver.ts';
import { postgresDriver, type PoolSettings } from './drivers/postgres.ts';
import type { CredentialSource, RotationReason } from './source.ts';
import { backoffDelay } from './timing.ts';
import { setTimeout as delay } from 'node:timers/promises';

/** The longest pause after a login while warming a new pool (see warmUp). */
const MAX_LOGIN_PAUSE_MS = 50;

export type { PoolSettings };

/**
 * The database: `pg` settings for PostgreSQL (the default driver), or any driver
 * (`driver: mysqlDriver({...})`) holding its own settings.
 */
export type DatabaseChoice = { pg: PoolSettings; driver?: undefined } | { driver: DbDriver; pg?: undefined };

export type RotatingPoolOptions = DatabaseChoice & {
  source: CredentialSource;
  metrics?: CredentialMetrics;
  logger?: Logger;
  /**
   * Run once on a new pool before it takes traffic, then once on each connection it warms:
   * a query on the service's own tables makes new backends load their catalog entries
   * before the swap rather than on the first queries after it. Default `SELECT 1`.
   */
  verifyQuery?: string;
  /** Attempts to verify new credentials before keeping the current ones. */
  verifyAttempts?: number;
  /** After a failed recovery, ignore further login refusals of that pool this long. */
  recoveryQuietMs?: number;
  /**
   * Refuse queries (DBCREDS_EXPIRED) once the source's current credentials are past
   * `expiresAt`, instead of running them on connections opened before. Only for
   * sources whose expiry is exact (a Vault lease, an init-container file): a sidecar
   * agent's file gives only a lower bound.
   */
  refuseExpired?: boolean;
  /**
   * While the server refuses connections (a restart), an operation waits this long for it,
   * connecting again with backoff, before failing. Nothing ran, so waiting is safe. Default 10 s.
   */
  connectRetryMs?: number;
  now?: () => number;
};

/** What a transaction callback gets: queries on one connection inside BEGIN/COMMIT. */
export type TransactionClient = DbQueryable;

/** One driver pool for one set of credentials. */
interface Generation {
  readonly id: number;
  readonly creds: DbCredentials;
  readonly pool: DbPool;
  /** Operations (queries, transactions) that hold or wait for a connection. */
  active: number;
  retired: boolean;
  /** Hand the credentials back to the source once closed (not for the source's current ones). */
  release: boolean;
  closing: boolean;
  /** Resolves once the pool ended and the credentials were released. */
  readonly closed: Promise<void>;
  readonly markClosed: () => void;
  recovery?: Promise<Generation | undefined>;
  lastFailedRecoveryMs?: number;
}

type Attempt<T> = { ok: true; value: T } | { ok: false; error: unknown; stage: 'connect' | 'run'; credentialsRefused: boolean };

/**
 * A database pool whose login follows a CredentialSource, over a DbDriver
 * (PostgreSQL by default). New credentials get a new driver pool, verified with one query before it takes traffic; the old pool is
 * ended only once its in-flight operations finish (soft eviction), then its
 * credentials are released to the source for revocation. Credentials that
 * fail verification never replace working ones.
 */
export class RotatingPool {
  readonly #source: CredentialSource;
  readonly #driver: DbDriver;
  readonly #metrics: CredentialMetrics;
  readonly #log: Logger;
  readonly #verifyQuery: string;
  readonly #verifyAttempts: number;
  readonly #recoveryQuietMs: number;
  readonly #refuseExpired: boolean;
  readonly #connectRetryMs: number;
  readonly #now: () => number;
  readonly #lifecycle = new Lifecycle('RotatingPool');
  readonly #generations = new Set<Generation>();
  #current: Generation | undefined;
  #nextId = 1;
  /** Rotations run one at a time, in order. */
  #rotations: Promise<void> = Promise.resolve();
  #unsubscribe: (() => void) | undefined;
  #untrack: (() => void) | undefined;

  constructor(options: RotatingPoolOptions) {
    this.#source = options.source;
    this.#driver = options.driver ?? postgresDriver(options.pg);
    this.#metrics = options.metrics ?? new CredentialMetrics();
    this.#log = (options.logger ?? silentLogger()).child({ component: 'rotating-pool' });
    this.#verifyQuery = options.verifyQuery ?? 'SELECT 1';
    this.#verifyAttempts = options.verifyAttempts ?? 3;
    this.#recoveryQuietMs = options.recoveryQuietMs ?? 1_000;
    this.#refuseExpired = options.refuseExpired ?? false;
    this.#connectRetryMs = options.connectRetryMs ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** Opens the first pool with the source's current credentials (the source must be started). */
  async start(): Promise<void> {
    this.#lifecycle.beginStart();
    try {
      this.#unsubscribe = this.#source.subscribe((creds, reason) => void this.#enqueueRotation(creds, reason));
      this.#current = await this.#open(this.#source.current());
      this.#untrack = this.#metrics.trackPool(() => this.stats());
      this.#lifecycle.endStart(true);
    } catch (err) {
      this.#unsubscribe?.();
      this.#lifecycle.endStart(false);
      throw err;
    }
  }

  /** The user the pool logs in as right now. */
  get username(): string {
    this.#lifecycle.assertRunning('username');
    return this.#live().creds.username;
  }

  /** Connections across all generations (old ones drain while the new one serves). */
  stats(): PoolStats & { generations: number } {
    const sum = { total: 0, idle: 0, waiting: 0, generations: this.#generations.size };
    for (const g of this.#generations) {
      const { total, idle, waiting } = g.pool.stats();
      sum.total += total;
      sum.idle += idle;
      sum.waiting += waiting;
    }
    return sum;
  }

  /**
   * Runs one statement. If the database refuses the credentials (login refused,
   * or permission denied because the role's grants were revoked), asks the source once for
   * fresh ones and retries on the new pool: safe, as the statement never ran.
   * A statement whose backend was terminated (PostgreSQL's 57P01: a revocation that ends the
   * role's sessions, or a shutdown) was rolled back: it runs again on another connection, where a
   * revoked login then shows as refused. Once more for each terminated connection it meets,
   * and each of those is discarded: an idle connection's termination notice may still sit
   * unread in its socket when the pool hands it out, so one statement can meet every
   * connection of the pool in turn, in each of a revocation's two rounds (before it drops the
   * role, and then the sessions that logged in meanwhile). Hence at most twice the pool size.
   */
  async query<R extends DbRow = DbRow>(text: string, values?: unknown[]): Promise<DbQueryResult<R>> {
    this.#lifecycle.assertRunning('query');
    const run = (connection: DbConnection): Promise<DbQueryResult<R>> => connection.query<R>(text, values);
    let gen = this.#usable();
    let first = await this.#attempt(gen, run);
    const terminatedRetries = 2 * this.#driver.maxConnections;
    for (let retry = 0; retry < terminatedRetries && !first.ok && first.stage === 'run' && this.#driver.classify(first.error).kind === 'backend-terminated'; retry++) {
      this.#metrics.retries.inc({ reason: 'backend-terminated' });
      gen = this.#live();
      first = await this.#attempt(gen, run);
    }
    if (first.ok) return first.value;
    const next = first.credentialsRefused ? await this.#recover(gen) : undefined;
    if (next === undefined) throw refusal(first, gen);
    const second = await this.#attempt(next, run);
    if (second.ok) return second.value;
    throw refusal(second, next);
  }

  /**
   * Runs `fn` inside BEGIN/COMMIT on one connection of one pool generation,
   * rolling back if it throws. Retried on fresh credentials only when the
   * connection could not be opened; a transaction that started is never re-run,
   * but a refusal inside it still triggers recovery for the next call.
   */
  async transaction<T>(fn: (client: TransactionClient) => Promise<T>): Promise<T> {
    this.#lifecycle.assertRunning('transaction');
    const run = (connection: DbConnection): Promise<T> => inTransaction(connection, fn);
    const gen = this.#usable();
    const first = await this.#attempt(gen, run);
    if (first.ok) return first.value;
    const next = first.credentialsRefused ? await this.#recover(gen) : undefined;
    if (next === undefined || first.stage === 'run') throw refusal(first, gen);
    const second = await this.#attempt(next, run);
    if (second.ok) return second.value;
    throw refusal(second, next);
  }

  /** Stops following the source, waits for in-flight operations, ends every pool. */
  async stop(): Promise<void> {
    this.#lifecycle.beginStop();
    this.#unsubscribe?.();
    await this.#rotations;
    for (const gen of this.#generations) {
      // The current credentials stay with the source, which revokes them on its own stop.
      this.#retire(gen, gen !== this.#current);
    }
    await Promise.all([...this.#generations].map((g) => g.closed));
    this.#untrack?.();
    this.#current = undefined;
    this.#lifecycle.endStop();
  }

  #live(): Generation {
    if (this.#current === undefined) throw new DbCredentialsError('DBCREDS_NOT_STARTED', 'RotatingPool has no pool');
    return this.#current;
  }

  /**
   * The generation to run on, unless its credentials expired: PostgreSQL's VALID UNTIL
   * (like a dropped MySQL user) stops only new logins, so open connections would go on serving past the lease.
   * The source knows the latest expiry (renewals extend a lease without new credentials).
   */
  #usable(): Generation {
    const gen = this.#live();
    if (!this.#refuseExpired) return gen;
    const current = this.#source.current();
    const expiresAt = this.#source.expiryOf?.(gen.creds) ?? (sameLogin(current, gen.creds) ? current : gen.creds).expiresAt;
    if (expiresAt !== undefined && expiresAt.getTime() <= this.#now()) {
      throw new DbCredentialsError('DBCREDS_EXPIRED', `the credentials of ${gen.creds.username} expired at ${expiresAt.toISOString()}; waiting for new ones`, {
        username: gen.creds.username,
        ...(gen.creds.leaseId === undefined ? {} : { leaseId: gen.creds.leaseId }),
      });
    }
    return gen;
  }

  #enqueueRotation(creds: DbCredentials, reason: RotationReason): Promise<void> {
    const next = this.#rotations.then(() => this.#rotate(creds, reason));
    this.#rotations = next;
    return next;
  }

  async #rotate(creds: DbCredentials, reason: RotationReason): Promise<void> {
    const old = this.#current;
    if (this.#lifecycle.stopping || old === undefined || sameLogin(old.creds, creds)) return;
    let gen: Generation;
    try {
      // As many connections as the old pool holds: after the swap no query waits for a login
      // (warming only the busy ones was measured worse: bursts then pay connection set-up).
      gen = await this.#open(creds, old.pool.stats().total, this.#source.expiryOf?.(old.creds) ?? old.creds.expiresAt);
    } catch (err) {
      this.#metrics.rotationFailures.inc({ stage: 'verify' });
      this.#log.warn({ err: errorSummary(err), reason, next: describeCredentials(creds), current: describeCredentials(old.creds) }, 'new credentials failed verification; keeping the current pool');
      return;
    }
    if (this.#lifecycle.stopping) {
      this.#retire(gen, false);
      return;
    }
    this.#current = gen;
    this.#metrics.rotations.inc({ reason });
    this.#log.info({ reason, generation: gen.id, from: describeCredentials(old.creds), to: describeCredentials(creds) }, 'rotated to new credentials');
    this.#retire(old, true);
  }

  /** A new driver pool for `creds`, verified with one query (with a few retries), then warmed to `warm` connections. */
  async #open(creds: DbCredentials, warm = 1, oldExpiresAt?: Date): Promise<Generation> {
    const id = this.#nextId++;
    // An idle connection dying (server restart, terminated backend) must not crash the process.
    const pool = this.#driver.createPool(creds, (err) => this.#log.warn({ generation: id, err: errorSummary(err) }, 'idle connection failed'));
    for (let attempt = 0; ; attempt++) {
      try {
        await verify(pool, this.#verifyQuery);
        break;
      } catch (err) {
        if (attempt + 1 >= this.#verifyAttempts) {
          await pool.end().catch(() => undefined);
          throw new DbCredentialsError('DBCREDS_VERIFY_FAILED', `new credentials for ${creds.username} failed verification: ${errorSummary(err).message}`, {
            username: creds.username,
            ...(creds.leaseId === undefined ? {} : { leaseId: creds.leaseId }),
          }, { cause: err });
        }
        await delay(backoffDelay(attempt, Math.random(), { baseDelayMs: 100, maxDelayMs: 1_000 }));
      }
    }
    // Never more than max: extra connect() calls would wait for releases that come only after them.
    // Pauses between logins spend at most a quarter of the old login's remaining life: a slow
    // machine then gets the swap well before the old credentials expire.
    const pausesUntil = oldExpiresAt === undefined ? Number.POSITIVE_INFINITY : this.#now() + Math.max(0, oldExpiresAt.getTime() - this.#now()) / 4;
    await warmUp(pool, Math.min(warm, this.#driver.maxConnections), this.#verifyQuery, () => Math.max(0, pausesUntil - this.#now()));
    let markClosed = (): void => undefined;
    const closed = new Promise<void>((resolve) => (markClosed = resolve));
    const gen: Generation = { id, creds, pool, active: 0, retired: false, release: false, closing: false, closed, markClosed };
    this.#generations.add(gen);
    return gen;
  }

  async #attempt<T>(gen: Generation, fn: (connection: DbConnection) => Promise<T>): Promise<Attempt<T>> {
    gen.active++;
    try {
      let connection: DbConnection;
      // The first try inline, the retries (rare) in #connectAgain: one async frame less on every query's path.
      const deadline = this.#now() + this.#connectRetryMs;
      try {
        connection = await gen.pool.connect();
      } catch (failure) {
        try {
          connection = await this.#connectAgain(gen, failure, deadline);
        } catch (error) {
          return { ok: false, error, stage: 'connect', credentialsRefused: this.#driver.classify(error).kind === 'login-refused' };
        }
      }
      let broken: unknown;
      try {
        return { ok: true, value: await fn(connection) };
      } catch (error) {
        const failure = this.#driver.classify(error);
        // The driver hears a socket dying under the statement (a crashed server).
        broken = failure.breaksConnection ? error : connection.brokenBy;
        const credentialsRefused =
          failure.kind === 'login-refused' || (failure.kind === 'permission-denied' && !broken && (await this.#driver.isRevoked(connection, gen.creds.username)));
        // A session of a revoked role is useless (and may outlive the role): never reuse it.
        if (credentialsRefused) broken ??= error;
        return { ok: false, error, stage: 'run', credentialsRefused };
      } finally {
        broken ??= connection.brokenBy;
        connection.release(broken instanceof Error ? broken : broken === undefined ? undefined : true);
      }
    } finally {
      gen.active--;
      if (gen.retired && gen.active === 0) this.#close(gen);
    }
  }

  /**
   * After `gen`'s first connect failed with `failure`: while the server is down (restarting),
   * waits for it until `deadline` (connectRetryMs after the first try), connecting again.
   */
  async #connectAgain(gen: Generation, failure: unknown, deadline: number): Promise<DbConnection> {
    for (let attempt = 0; ; attempt++) {
      if (this.#driver.classify(failure).kind !== 'server-unavailable' || this.#lifecycle.stopping || this.#now() >= deadline) throw failure;
      if (attempt === 0) this.#metrics.retries.inc({ reason: 'database-unavailable' });
      await delay(Math.min(backoffDelay(attempt, Math.random(), { baseDelayMs: 50, maxDelayMs: 1_000 }), Math.max(0, deadline - this.#now())));
      try {
        return await gen.pool.connect();
      } catch (error) {
        failure = error;
      }
    }
  }

  /**
   * The database refused `gen`'s credentials: one refresh from the source for
   * all callers that saw it (coalesced), then the generation to retry on, if any.
   */
  #recover(gen: Generation): Promise<Generation | undefined> {
    if (this.#current !== gen) return Promise.resolve(this.#current);
    if (gen.recovery) return gen.recovery;
    if (gen.lastFailedRecoveryMs !== undefined && Date.now() - gen.lastFailedRecoveryMs < this.#recoveryQuietMs) {
      return Promise.resolve(undefined);
    }
    this.#log.warn({ generation: gen.id, current: describeCredentials(gen.creds) }, 'database refused the credentials; asking the source for fresh ones');
    gen.recovery = (async () => {
      try {
        // New credentials arrive by the subscription, which queued their rotation before
        // refresh resolved: wait for the queue.
        await this.#source.refresh(gen.creds);
        await this.#rotations;
      } catch (err) {
        this.#log.warn({ err: errorSummary(err) }, 'credential refresh failed');
      }
      if (this.#current !== gen && !this.#lifecycle.stopping) return this.#current;
      gen.lastFailedRecoveryMs = Date.now();
      return undefined;
    })().finally(() => {
      gen.recovery = undefined;
    });
    return gen.recovery;
  }

  /** Stops routing to `gen`; it closes once its in-flight operations finish. */
  #retire(gen: Generation, release: boolean): void {
    if (gen.retired) return;
    gen.retired = true;
    gen.release = release;
    if (gen.active === 0) this.#close(gen);
  }

  #close(gen: Generation): void {
    if (gen.closing) return;
    gen.closing = true;
    void (async () => {
      await gen.pool.endGradually().catch((err: unknown) => this.#log.warn({ generation: gen.id, err: errorSummary(err) }, 'ending a drained pool failed'));
      this.#generations.delete(gen);
      if (!gen.release) return;
      try {
        await this.#source.release(gen.creds);
      } catch (err) {
        this.#log.warn({ generation: gen.id, err: errorSummary(err), released: describeCredentials(gen.creds) }, 'releasing old credentials failed');
      }
    })().finally(gen.markClosed);
  }
}

/**
 * The error to hand to the caller: refused credentials (login refused, or a
 * permission error because the role was revoked) become DBCREDS_REFUSED, so a
 * revoked role reads as "no usable credentials" rather than a forbidden query.
 */
function refusal(failed: Extract<Attempt<unknown>, { ok: false }>, gen: Generation): unknown {
  if (!failed.credentialsRefused) return failed.error;
  return new DbCredentialsError('DBCREDS_REFUSED', `the database refused the credentials of ${gen.creds.username}: ${errorSummary(failed.error).message}`, {
    username: gen.creds.username,
    ...(gen.creds.leaseId === undefined ? {} : { leaseId: gen.creds.leaseId }),
  }, { cause: failed.error });
}

/**
 * Opens connections until the pool holds `count`, one login at a time, each followed by a
 * pause as long as the login took (capped): a login costs the CPU of ~50 queries (the
 * backend's fork and start-up, SCRAM on both sides), and logins in a burst starve the queries
 * still running on the old pool (measured: bench/rotation). Once `pauseBudgetMs` is spent
 * (the old credentials expire soon), two logins at a time and no pauses: the swap must come
 * first. Each connection runs `query` once, then all are left idle. A failure only means a
 * colder pool.
 */
async function warmUp(pool: DbPool, count: number, query: string, pauseBudgetMs: () => number): Promise<void> {
  const held: { connection: DbConnection; broken?: Error }[] = [];
  const login = async (): Promise<void> => {
    const entry: (typeof held)[number] = { connection: await pool.connect() };
    held.push(entry);
    // A fresh backend's first query on a table loads its catalog entries: done here, not by
    // the first queries after the swap (measured: their p99 halves with a verifyQuery on the
    // service's tables). A failing query leaves the connection to be discarded.
    await entry.connection.query(query).catch((err: unknown) => (entry.broken ??= err instanceof Error ? err : new Error(String(err))));
  };
  try {
    while (held.length < count) {
      const began = performance.now();
      const budget = pauseBudgetMs();
      const batch = await Promise.allSettled(Array.from({ length: budget > 0 ? 1 : Math.min(2, count - held.length) }, login));
      if (batch.some((r) => r.status === 'rejected')) break;
      if (held.length < count && budget > 0) await delay(Math.min(MAX_LOGIN_PAUSE_MS, performance.now() - began, pauseBudgetMs()));
    }
  } finally {
    for (const { connection, broken } of held) connection.release(broken ?? connection.brokenBy);
  }
}

/** One statement on one connection of a new pool; a connection that failed it is discarded. */
async function verify(pool: DbPool, query: string): Promise<void> {
  const connection = await pool.connect();
  try {
    await connection.query(query);
  } catch (err) {
    connection.release(err instanceof Error ? err : true);
    throw err;
  }
  connection.release(connection.brokenBy);
}

async function inTransaction<T>(connection: DbConnection, fn: (client: TransactionClient) => Promise<T>): Promise<T> {
  await connection.query('BEGIN');
  let value: T;
  try {
    value = await fn(connection);
  } catch (err) {
    // A failed ROLLBACK means the connection is unusable: surface it so the connection is discarded.
    await connection.query('ROLLBACK');
    throw err;
  }
  await connection.query('COMMIT');
  return value;
}
