import { Counter, Gauge, Registry } from 'prom-client';

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

/**
 * The db-credentials metrics on one registry. Create one per process and hand
 * it to the source and the pool. Labels are closed sets (source kind, reason,
 * stage, state): never a username, lease id or secret.
 */
export class CredentialMetrics {
  readonly registry: Registry;
  readonly expiry: Gauge<'source'>;
  readonly rotations: Counter<'reason'>;
  readonly rotationFailures: Counter<'stage'>;
  readonly sourceErrors: Counter<'source' | 'reason'>;
  readonly retries: Counter<'reason'>;
  readonly #pools = new Set<() => PoolStats>();

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.expiry = new Gauge({
      name: 'rotor_db_credentials_expiry_timestamp_seconds',
      help: 'Unix time at which the current database credentials expire (0 if unknown).',
      labelNames: ['source'],
      registers,
    });
    this.rotations = new Counter({
      name: 'rotor_db_credentials_rotations_total',
      help: 'Pool swaps to new database credentials, by why the credentials changed.',
      labelNames: ['reason'],
      registers,
    });
    this.rotationFailures = new Counter({
      name: 'rotor_db_credentials_rotation_failures_total',
      help: 'New credentials that did not replace the current ones, by the failing stage.',
      labelNames: ['stage'],
      registers,
    });
    this.sourceErrors = new Counter({
      name: 'rotor_db_credentials_source_errors_total',
      help: 'Errors of a credential source (bad file, Vault unreachable, ...), by reason.',
      labelNames: ['source', 'reason'],
      registers,
    });
    this.retries = new Counter({
      name: 'rotor_db_pool_retries_total',
      help: 'Statements run a second time because the first attempt could not have taken effect, by reason.',
      labelNames: ['reason'],
      registers,
    });
    const pools = this.#pools;
    new Gauge({
      name: 'rotor_db_pool_connections',
      help: 'Connections of the rotating pool across its generations, by state (total, idle, waiting clients).',
      labelNames: ['state'],
      registers,
      collect() {
        const sum: PoolStats = { total: 0, idle: 0, waiting: 0 };
        for (const stats of pools) {
          const s = stats();
          sum.total += s.total;
          sum.idle += s.idle;
          sum.waiting += s.waiting;
        }
        this.set({ state: 'total' }, sum.total);
        this.set({ state: 'idle' }, sum.idle);
        this.set({ state: 'waiting' }, sum.waiting);
      },
    });
  }

  /** Reports a pool's stats at each scrape; returns the function that stops it. */
  trackPool(stats: () => PoolStats): () => void {
    const entry = (): PoolStats => stats();
    this.#pools.add(entry);
    return () => void this.#pools.delete(entry);
  }

  setExpiry(source: string, expiresAt: Date | undefined): void {
    this.expiry.set({ source }, expiresAt === undefined ? 0 : expiresAt.getTime() / 1000);
  }
}
