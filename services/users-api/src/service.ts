// The running service: credential source -> rotating pool -> fastify app, with
// its start-up log, the init-container expiry exit and the graceful shutdown.
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { CredentialMetrics, RotatingPool, describeCredentials, isDbCredentialsError, longDelay, type CredentialSource } from '@rotor/db-credentials';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { buildApp } from './app.ts';
import type { Config } from './config.ts';
import { createCredentialSource } from './credential-source.ts';
import { deliveryMode, registerDeliveryMetrics } from './delivery-metrics.ts';
import { credentialsExpiryProblem, evictionRetryDelay, expiryExitTime, expiryReadinessMarginMs } from './expiry-exit.ts';
import { Readiness } from './readiness.ts';
import { RefusalNotifyingSource } from './refused-credentials.ts';
import { evictPod, type KubernetesAccess } from './self-eviction.ts';

/** db-credentials codes meaning "no usable credentials right now": answered 503, not 500. */
const UNAVAILABLE_CODES = new Set(['DBCREDS_STOPPED', 'DBCREDS_NOT_STARTED', 'DBCREDS_VERIFY_FAILED', 'DBCREDS_VAULT', 'DBCREDS_LOGIN', 'DBCREDS_EXPIRED', 'DBCREDS_REFUSED']);
const PING_TIMEOUT_MS = 2_000;

export interface ServiceOptions {
  config: Config;
  logger: Logger;
  /** Where to evict the own pod from in init-container mode; undefined outside Kubernetes. */
  kubernetes?: KubernetesAccess | undefined;
  /** Injected for tests; defaults to the one the configuration asks for. */
  source?: CredentialSource;
  random?: () => number;
}

export class Service {
  readonly app: FastifyInstance;
  readonly registry: Registry;
  readonly pool: RotatingPool;
  readonly readiness: Readiness;
  readonly #config: Config;
  readonly #log: Logger;
  readonly #source: CredentialSource;
  readonly #kubernetes: KubernetesAccess | undefined;
  readonly #random: () => number;
  readonly #leaving = new AbortController();
  /** When an init-container pod plans to leave, for the rotation-lead metric. */
  readonly #plannedExit: { atMs?: number };
  /** Init-container mode: aborted when the database refused the credentials (leave now, not at expiry). */
  readonly #refused = new AbortController();
  #stopped: Promise<void> | undefined;
  #address: string | undefined;
  #onSelfStop: (() => void) | undefined;

  private constructor(
    parts: { app: FastifyInstance; registry: Registry; pool: RotatingPool; readiness: Readiness; source: CredentialSource; plannedExit: { atMs?: number } },
    options: ServiceOptions,
  ) {
    this.app = parts.app;
    this.registry = parts.registry;
    this.pool = parts.pool;
    this.readiness = parts.readiness;
    this.#source = parts.source;
    this.#plannedExit = parts.plannedExit;
    this.#config = options.config;
    this.#log = options.logger;
    this.#kubernetes = options.kubernetes;
    this.#random = options.random ?? Math.random;
  }

  /** Obtains credentials, opens the pool, builds the app (not yet listening). */
  static async create(options: ServiceOptions): Promise<Service> {
    const { config, logger } = options;
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const metrics = new CredentialMetrics(registry);
    const initContainer = config.credentials.mode === 'file' && config.credentials.refresh === 'none';
    let onRefused = (): void => undefined;
    const created = options.source ?? createCredentialSource(config.credentials, metrics, logger);
    // Nothing renews an init container's credentials: a refusal means they are gone for good.
    const source = initContainer ? new RefusalNotifyingSource(created, () => onRefused()) : created;
    if (config.credentials.mode === 'static') {
      logger.warn('CREDENTIALS_MODE=static: fixed database credentials, for local development only; nothing rotates them');
    }
    const creds = await source.start();
    const plannedExit: { atMs?: number } = {};
    registerDeliveryMetrics(registry, { mode: deliveryMode(config.credentials), current: () => source.current(), plannedExitMs: () => plannedExit.atMs });
    // A Vault lease or an init container's file: the expiry is exact. A sidecar agent's file gives
    // only a lower bound (the agent may renew the lease past it), so only its passing counts there.
    const exactExpiry = config.credentials.mode === 'vault' || (config.credentials.mode === 'file' && config.credentials.refresh === 'none');
    const pool = new RotatingPool({
      source,
      metrics,
      logger,
      // Serve nothing past an exact expiry: connections opened before it would go on working.
      refuseExpired: exactExpiry,
      pg: {
        host: config.database.host,
        port: config.database.port,
        database: config.database.name,
        max: config.database.poolMax,
        connectionTimeoutMillis: 5_000,
        idleTimeoutMillis: 30_000,
        application_name: 'users-api',
        // TLS only when asked: verified against that CA and the host name (Node checks both).
        ...(config.database.sslRootCert !== undefined ? { ssl: { ca: readFileSync(config.database.sslRootCert, 'utf8') } } : {}),
      },
    });
    try {
      await pool.start();
    } catch (err) {
      await source.stop().catch(() => undefined);
      throw err;
    }
    // The seed's app printed the password here; this shows who and until when, nothing secret.
    logger.info({ mode: config.credentials.mode, source: source.kind, database: `${config.database.host}:${config.database.port}/${config.database.name}`, ...describeCredentials(creds) }, 'database credentials obtained');
    const readiness = new Readiness({
      credentialsProblem: () => {
        const current = source.current();
        // Not ready a little before an exact expiry, so traffic leaves while the credentials still work.
        return credentialsExpiryProblem(current.expiresAt?.getTime(), exactExpiry ? expiryReadinessMarginMs(current.leaseDuration) : 0, Date.now());
      },
      pingDatabase: async () => {
        await Promise.race([pool.query('SELECT 1'), delay(PING_TIMEOUT_MS, undefined, { ref: false }).then(() => Promise.reject(new Error('ping timed out')))]);
      },
      isRefusal: (err) => isDbCredentialsError(err, 'DBCREDS_REFUSED'),
    });
    let app: FastifyInstance;
    try {
      app = await buildApp({ db: pool, readiness, registry, logger, bodyLimitBytes: config.bodyLimitBytes, unavailableCodes: UNAVAILABLE_CODES });
    } catch (err) {
      await pool.stop().catch(() => undefined);
      await source.stop().catch(() => undefined);
      throw err;
    }
    const service = new Service({ app, registry, pool, readiness, source, plannedExit }, options);
    onRefused = () => service.#credentialsRefused();
    return service;
  }

  /** Init-container mode: the database refused the credentials; leave now rather than at expiry. */
  #credentialsRefused(): void {
    if (this.#refused.signal.aborted) return;
    this.#log.warn('the database refused the init container\'s credentials (revoked?): nothing can renew them here, leaving now');
    this.readiness.leave('database refused the credentials');
    this.#refused.abort();
  }

  /** Starts listening; in init-container mode also schedules leaving before expiry. */
  async listen(): Promise<string> {
    this.#address = await this.app.listen({ host: this.#config.listen.host, port: this.#config.listen.port });
    this.#log.info({ address: this.#address }, 'listening');
    const { credentials } = this.#config;
    if (credentials.mode === 'file' && credentials.refresh === 'none') void this.#leaveBeforeExpiry();
    return this.#address;
  }

  /**
   * Graceful stop: not-ready first, keep serving while endpoints are updated,
   * then stop accepting and let in-flight requests finish, end the pools, and
   * let the source revoke its lease. Idempotent.
   */
  stop(reason: string): Promise<void> {
    this.#stopped ??= this.#stop(reason);
    return this.#stopped;
  }

  async #stop(reason: string): Promise<void> {
    this.#leaving.abort();
    this.readiness.leave(reason);
    this.#log.info({ reason, delayMs: this.#config.shutdown.delayMs }, 'not ready; shutting down');
    if (this.#address !== undefined) await delay(this.#config.shutdown.delayMs);
    const drained = this.app.close();
    const timer = setTimeout(() => {
      this.#log.warn({ drainTimeoutMs: this.#config.shutdown.drainTimeoutMs }, 'drain timeout: closing remaining connections');
      this.app.server.closeAllConnections();
    }, this.#config.shutdown.drainTimeoutMs);
    try {
      await drained;
    } finally {
      clearTimeout(timer);
    }
    this.#log.info('in-flight requests drained');
    await this.pool.stop();
    await this.#source.stop();
    this.#log.info('stopped');
  }

  /**
   * Init-container mode: nothing renews the file, so before the credentials
   * expire hand the pod back. In Kubernetes, evict the own pod (the
   * PodDisruptionBudget decides when; SIGTERM follows); elsewhere, or when the
   * deadline is reached, stop on our own.
   */
  async #leaveBeforeExpiry(): Promise<void> {
    const expiresAt = this.#source.current().expiresAt;
    if (expiresAt === undefined) {
      this.#log.warn('credentials carry no expiry; not scheduling an exit');
      return;
    }
    const signal = this.#leaving.signal;
    const { leadMs, jitterMs } = this.#config.expiryExit;
    const leaveAt = expiryExitTime({ expiresAtMs: expiresAt.getTime(), nowMs: Date.now(), random: this.#random(), leadMs, jitterMs });
    this.#plannedExit.atMs = leaveAt;
    // Past this, stop regardless of the budget: serving with dead credentials helps nobody.
    const deadline = expiryExitTime({ expiresAtMs: expiresAt.getTime(), nowMs: Date.now(), random: 0, leadMs: this.#config.shutdown.delayMs + this.#config.shutdown.drainTimeoutMs, jitterMs: 0 });
    this.#log.info({ expiresAt: expiresAt.toISOString(), leaveAt: new Date(leaveAt).toISOString() }, 'credentials are not refreshed (init container): will leave before they expire');
    try {
      // A long-safe wait: init-container credentials may live 768 h (Vault's default TTL).
      // Cut short if the database refuses the credentials before then.
      await longDelay(leaveAt - Date.now(), { signal: AbortSignal.any([signal, this.#refused.signal]), ref: false }).catch((err: unknown) => {
        if (signal.aborted || !this.#refused.signal.aborted) throw err;
      });
      const pod = this.#config.pod;
      while (this.#kubernetes !== undefined && pod !== undefined && Date.now() < deadline) {
        const result = await evictPod(this.#kubernetes, pod).catch((err: unknown) => {
          this.#log.warn({ err: { message: err instanceof Error ? err.message : String(err) } }, 'eviction request failed');
          return { outcome: 'failed' as const, status: undefined };
        });
        this.#log.info({ outcome: result.outcome, status: result.status }, 'asked Kubernetes to evict this pod');
        if (result.outcome === 'evicted') return; // SIGTERM follows and runs stop().
        await delay(evictionRetryDelay(Date.now(), deadline, this.#random()), undefined, { signal, ref: false });
      }
      await this.stop(this.#refused.signal.aborted ? 'credentials refused by the database' : 'credentials expiring');
      this.#onSelfStop?.();
    } catch (err) {
      if (!signal.aborted) this.#log.error({ err }, 'leaving before expiry failed');
    }
  }

  /** Called once the service stopped on its own (credentials expiring), e.g. to exit the process. */
  onSelfStop(callback: () => void): void {
    this.#onSelfStop = callback;
  }
}
