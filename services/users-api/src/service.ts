// The running service: credential source -> rotating pool -> fastify app, with
// its start-up log, the init-container expiry exit and the graceful shutdown.
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { CredentialMetrics, DbCredentialsErrorCode, RotatingPool, describeCredentials, type CredentialSource } from '@rotor/db-credentials';
import {
  RefusalNotifyingSource,
  createCredentialSource,
  hasExactExpiry,
  isInitContainerMode,
  leaveBeforeExpiry,
  poolReadiness,
  type KubernetesAccess,
  type Readiness,
} from '@rotor/db-credentials/service-kit';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { buildApp } from './app.ts';
import type { Config } from './config.ts';
import { deliveryMode, registerDeliveryMetrics } from './delivery-metrics.ts';

/** db-credentials codes meaning "no usable credentials right now": answered 503, not 500. */
const UNAVAILABLE_CODES = new Set<string>([
  DbCredentialsErrorCode.STOPPED,
  DbCredentialsErrorCode.NOT_STARTED,
  DbCredentialsErrorCode.VERIFY_FAILED,
  DbCredentialsErrorCode.VAULT,
  DbCredentialsErrorCode.LOGIN,
  DbCredentialsErrorCode.EXPIRED,
  DbCredentialsErrorCode.REFUSED,
]);

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
    const initContainer = isInitContainerMode(config.credentials);
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
    const exactExpiry = hasExactExpiry(config.credentials);
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
    const readiness = poolReadiness({ source, pool, exactExpiry });
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
    if (isInitContainerMode(this.#config.credentials)) void this.#leaveBeforeExpiry();
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

  /** Init-container mode: hand the pod back before the credentials expire (the kit's leaveBeforeExpiry). */
  async #leaveBeforeExpiry(): Promise<void> {
    const outcome = await leaveBeforeExpiry({
      source: this.#source,
      expiryExit: this.#config.expiryExit,
      stopBudgetMs: this.#config.shutdown.delayMs + this.#config.shutdown.drainTimeoutMs,
      pod: this.#config.pod,
      kubernetes: this.#kubernetes,
      random: this.#random,
      logger: this.#log,
      signal: this.#leaving.signal,
      refused: this.#refused.signal,
      onPlanned: (atMs) => {
        this.#plannedExit.atMs = atMs;
      },
      stop: (reason) => this.stop(reason),
    });
    if (outcome === 'stopped') this.#onSelfStop?.();
  }

  /** Called once the service stopped on its own (credentials expiring), e.g. to exit the process. */
  onSelfStop(callback: () => void): void {
    this.#onSelfStop = callback;
  }
}
