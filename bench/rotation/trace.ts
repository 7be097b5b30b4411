// What the pool's driver is doing while a query runs, seen through a wrapper around the
// PostgreSQL driver: logins (a connect() that opened a connection rather than handing out an
// idle one) and closes (a drained pool's endGradually). A query that overlapped one of them is
// attributed to it, so a window's slow queries can be told apart by cause.
import { postgresDriver, type DbDriver, type DbPool, type PoolSettings } from '@rotor/db-credentials';

/** What was going on during one query: the busiest overlapping activity, logins first. */
export type Overlap = 'login' | 'closing' | 'quiet';

export class DriverTrace {
  #loginsInFlight = 0;
  #loginsStarted = 0;
  #closesInFlight = 0;
  #closesStarted = 0;
  /** Logins opened, and their wall time (connect to resolved), for the summary. */
  readonly loginMs: number[] = [];

  /** postgresDriver(settings), each pool wrapped to report logins and closes here. */
  driver(settings: PoolSettings): DbDriver {
    const inner = postgresDriver(settings);
    return { ...inner, createPool: (login, onIdleError) => this.#wrap(inner.createPool(login, onIdleError)) };
  }

  /** Call at a query's start; the returned function, at its end, says what it overlapped. */
  begin(): () => Overlap {
    const logins = this.#loginsStarted - (this.#loginsInFlight > 0 ? 1 : 0);
    const closes = this.#closesStarted - (this.#closesInFlight > 0 ? 1 : 0);
    return () => (this.#loginsStarted !== logins ? 'login' : this.#closesStarted !== closes ? 'closing' : 'quiet');
  }

  #wrap(pool: DbPool): DbPool {
    return {
      connect: async () => {
        const before = pool.stats().total;
        const pending = pool.connect();
        // pg-pool counts a new client as soon as it starts connecting.
        if (pool.stats().total <= before) return pending;
        this.#loginsInFlight++;
        this.#loginsStarted++;
        const began = performance.now();
        try {
          return await pending;
        } finally {
          this.#loginsInFlight--;
          this.loginMs.push(performance.now() - began);
        }
      },
      stats: () => pool.stats(),
      endGradually: async () => {
        this.#closesInFlight++;
        this.#closesStarted++;
        try {
          await pool.endGradually();
        } finally {
          this.#closesInFlight--;
        }
      },
      end: () => pool.end(),
    };
  }
}
