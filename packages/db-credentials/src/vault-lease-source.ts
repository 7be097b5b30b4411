import type { Logger } from 'pino';
import { errorMessage, type VaultClient } from '@rotor/vault-client';
import { createDbCredentials, describeCredentials, sameLogin, withLifetime, type DbCredentials } from './credentials.ts';
import { DbCredentialsError } from './errors.ts';
import { Lifecycle } from './lifecycle.ts';
import { silentLogger } from './logger.ts';
import { CredentialMetrics } from './metrics.ts';
import { ScheduledTask } from './scheduled-task.ts';
import { Listeners, type CredentialListener, type CredentialSource, type RotationReason } from './source.ts';
import {
  DEFAULT_BACKOFF,
  DEFAULT_RENEWAL,
  expiryTime,
  isTruncated,
  renewalTime,
  retryTime,
  type BackoffPolicy,
  type LeaseTerm,
  type RenewalPolicy,
} from './timing.ts';
import { classifyLeaseFailure, nextStepAfterRenewalFailure, type LeaseFailure } from './vault-failures.ts';
import type { VaultLogin } from './vault-login.ts';
import { VaultTokenSession } from './vault-token-session.ts';

export interface VaultLeaseSourceOptions {
  /** Address and TLS settings; its own token (if any) is not used. */
  vault: VaultClient;
  login: VaultLogin;
  /** Database role: credentials come from `<mount>/creds/<role>`. */
  role: string;
  mount?: string;
  metrics?: CredentialMetrics;
  logger?: Logger;
  renewal?: RenewalPolicy;
  backoff?: BackoffPolicy;
  /** refresh() re-issues at most this often while the database keeps refusing fresh credentials. */
  minReissueIntervalMs?: number;
  now?: () => number;
  random?: () => number;
}

interface LeaseState {
  creds: DbCredentials & { leaseId: string };
  term: LeaseTerm;
  /** The increment asked at each renewal: the duration first granted. */
  requestedSec: number;
}

const KIND = 'vault-lease';

/**
 * Credentials leased straight from Vault's database engine. Renews the lease
 * at about 2/3 of its term; when a renewal comes back truncated (max_ttl
 * reached), is refused, or the lease is not renewable, issues new credentials
 * and tells subscribers. Its token is a `VaultTokenSession`, which renews it and
 * logs in again when it cannot; then this source re-issues, since leases die with
 * the token that created them. Old leases are revoked once released by the pool;
 * on stop the current one is revoked too. While Vault is unreachable it retries
 * with jittered backoff and keeps serving the current credentials.
 */
export class VaultLeaseSource implements CredentialSource {
  readonly kind = KIND;
  readonly #role: string;
  readonly #mount: string;
  readonly #metrics: CredentialMetrics;
  readonly #log: Logger;
  readonly #renewal: RenewalPolicy;
  readonly #backoff: BackoffPolicy;
  readonly #minReissueIntervalMs: number;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #lifecycle = new Lifecycle('VaultLeaseSource');
  readonly #listeners: Listeners;
  readonly #session: VaultTokenSession;
  readonly #leaseTask: ScheduledTask;
  #lease: LeaseState | undefined;
  /** Replaced leases not yet revoked (released by the pool, or revoked on stop), with their last known expiry. */
  readonly #superseded = new Map<string, Date | undefined>();
  #leaseFailures = 0;
  #lastReissueMs = Number.NEGATIVE_INFINITY;
  #reissuing: Promise<DbCredentials> | undefined;

  constructor(options: VaultLeaseSourceOptions) {
    this.#role = options.role;
    this.#mount = options.mount ?? 'database';
    this.#metrics = options.metrics ?? new CredentialMetrics();
    this.#log = (options.logger ?? silentLogger()).child({ component: KIND, role: this.#role });
    this.#renewal = options.renewal ?? DEFAULT_RENEWAL;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#minReissueIntervalMs = options.minReissueIntervalMs ?? 1_000;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#listeners = new Listeners((err) => this.#log.error({ err }, 'credential listener threw'));
    this.#session = new VaultTokenSession({
      vault: options.vault,
      login: options.login,
      log: this.#log,
      renewal: this.#renewal,
      backoff: this.#backoff,
      now: this.#now,
      random: this.#random,
      failed: (operation, err, context) => this.#failed(operation, err, context),
      afterRelogin: () => this.#reissue('token-relogin'),
    });
    this.#leaseTask = new ScheduledTask({
      now: this.#now,
      onError: (err) => void this.#failed('background', err, {}),
      stopping: () => this.#lifecycle.stopping,
    });
  }

  async start(): Promise<DbCredentials> {
    this.#lifecycle.beginStart();
    try {
      await this.#session.start();
      let creds: DbCredentials;
      try {
        creds = await this.#issue();
      } catch (err) {
        throw new DbCredentialsError('DBCREDS_VAULT', `reading ${this.#mount}/creds/${this.#role} failed: ${errorMessage(err)}`, {}, { cause: err });
      }
      this.#log.info({ creds: describeCredentials(creds) }, 'issued credentials');
      this.#scheduleLeaseRenewal();
      this.#session.keepAlive();
      this.#lifecycle.endStart(true);
      return creds;
    } catch (err) {
      this.#leaseTask.cancel();
      if (this.#session.running) await this.#session.stop();
      this.#lifecycle.endStart(false);
      throw err;
    }
  }

  current(): DbCredentials {
    this.#lifecycle.assertRunning('current');
    return this.#leaseState().creds;
  }

  subscribe(listener: CredentialListener): () => void {
    return this.#listeners.add(listener);
  }

  /** The database refused `stale`: issue new credentials (shared by concurrent callers, rate-limited). */
  async refresh(stale: DbCredentials): Promise<void> {
    this.#lifecycle.assertRunning('refresh');
    if (!sameLogin(this.#leaseState().creds, stale)) return;
    if (this.#reissuing) {
      await this.#reissuing;
      return;
    }
    if (this.#now() - this.#lastReissueMs < this.#minReissueIntervalMs) return;
    await this.#reissue('auth-failure');
  }

  /** The expiry of `creds` as last renewed: the current lease's, or a replaced one's still draining. */
  expiryOf(creds: DbCredentials): Date | undefined {
    const current = this.#lease?.creds;
    if (current !== undefined && sameLogin(current, creds)) return current.expiresAt;
    return creds.leaseId !== undefined && this.#superseded.has(creds.leaseId) ? this.#superseded.get(creds.leaseId) : creds.expiresAt;
  }

  /** Revokes a replaced lease once its pool drained; the current lease is kept. */
  async release(creds: DbCredentials): Promise<void> {
    const leaseId = creds.leaseId;
    if (leaseId === undefined || !this.#superseded.has(leaseId)) return;
    const expiresAt = this.#superseded.get(leaseId);
    this.#superseded.delete(leaseId);
    if (!(await this.#revokeLease(leaseId))) this.#superseded.set(leaseId, expiresAt);
  }

  async stop(): Promise<void> {
    this.#lifecycle.beginStop();
    this.#leaseTask.cancel();
    await Promise.all([this.#leaseTask.settled(), this.#reissuing, this.#session.halt()]);
    this.#leaseTask.cancel();
    const leases = [...this.#superseded.keys(), ...(this.#lease ? [this.#lease.creds.leaseId] : [])];
    this.#superseded.clear();
    await Promise.all(leases.map((id) => this.#revokeLease(id)));
    await this.#session.stop();
    this.#listeners.clear();
    this.#lifecycle.endStop();
  }

  #leaseState(): LeaseState {
    if (this.#lease === undefined) throw new DbCredentialsError('DBCREDS_NOT_STARTED', 'VaultLeaseSource has no lease');
    return this.#lease;
  }

  /** Reads new credentials from the database engine; they become current. */
  async #issue(): Promise<DbCredentials> {
    const lease = await this.#session.client.database.creds(this.#role, this.#mount);
    const grantedAtMs = this.#now();
    const creds = createDbCredentials({
      username: lease.data.username,
      password: lease.data.password,
      leaseId: lease.leaseId,
      leaseDuration: lease.leaseDuration,
      renewable: lease.renewable,
      expiresAt: lease.leaseDuration > 0 ? new Date(grantedAtMs + lease.leaseDuration * 1000) : undefined,
    }) as LeaseState['creds'];
    this.#lease = { creds, term: { durationSec: lease.leaseDuration, grantedAtMs }, requestedSec: lease.leaseDuration };
    this.#metrics.setExpiry(KIND, creds.expiresAt);
    return creds;
  }

  #reissue(reason: RotationReason): Promise<DbCredentials> {
    this.#reissuing ??= this.#doReissue(reason).finally(() => {
      this.#reissuing = undefined;
    });
    return this.#reissuing;
  }

  async #doReissue(reason: RotationReason): Promise<DbCredentials> {
    this.#leaseTask.cancel();
    const old = this.#leaseState();
    try {
      const creds = await this.#issue();
      this.#superseded.set(old.creds.leaseId, old.creds.expiresAt);
      this.#leaseFailures = 0;
      this.#lastReissueMs = this.#now();
      this.#log.info({ reason, from: describeCredentials(old.creds), to: describeCredentials(creds) }, 'issued new credentials');
      this.#scheduleLeaseRenewal();
      if (!this.#lifecycle.stopping) this.#listeners.emit(creds, reason);
      return creds;
    } catch (err) {
      const failure = this.#failed('issue', err, { leaseId: old.creds.leaseId, reason });
      // Not awaited: the re-login itself re-issues, and would wait on this very call.
      if (failure === 'denied' && this.#session.canRelogin) void this.#session.relogin();
      this.#retryLease(old, () => this.#reissue(reason));
      return old.creds;
    }
  }

  async #renewLease(): Promise<void> {
    const lease = this.#leaseState();
    try {
      const renewal = await this.#session.client.sys.renewLease(lease.creds.leaseId, lease.requestedSec);
      if (this.#lease !== lease || this.#lifecycle.stopping) return;
      const grantedAtMs = this.#now();
      const expiresAt = new Date(grantedAtMs + renewal.leaseDuration * 1000);
      this.#lease = { ...lease, creds: withLifetime(lease.creds, renewal.leaseDuration, expiresAt) as LeaseState['creds'], term: { durationSec: renewal.leaseDuration, grantedAtMs } };
      this.#metrics.setExpiry(KIND, expiresAt);
      this.#leaseFailures = 0;
      if (isTruncated(lease.requestedSec, renewal.leaseDuration)) {
        this.#log.info({ leaseId: lease.creds.leaseId, askedSec: lease.requestedSec, grantedSec: renewal.leaseDuration }, 'lease renewal truncated: max TTL ahead');
        await this.#reissue('renewal-truncated');
        return;
      }
      this.#log.debug({ leaseId: lease.creds.leaseId, grantedSec: renewal.leaseDuration }, 'renewed lease');
      this.#scheduleLeaseRenewal();
    } catch (err) {
      const step = nextStepAfterRenewalFailure(this.#failed('renew-lease', err, { leaseId: lease.creds.leaseId }));
      if (this.#lease !== lease) return;
      if (step === 'reissue') {
        await this.#reissue('renewal-failed');
      } else if (step === 'relogin' && this.#session.canRelogin) {
        await this.#session.relogin();
      } else {
        this.#retryLease(lease, () => this.#renewLease());
      }
    }
  }

  #scheduleLeaseRenewal(): void {
    const lease = this.#leaseState();
    const at = renewalTime(lease.term, this.#random(), this.#renewal);
    if (at === undefined) return;
    this.#leaseTask.at(at, () => (lease.creds.renewable ? this.#renewLease() : this.#reissue('not-renewable')));
  }

  /** Tries `task` again after a backoff, never later than half the lease's time left. */
  #retryLease(lease: LeaseState, task: () => Promise<unknown>): void {
    this.#leaseTask.at(retryTime(this.#now(), this.#leaseFailures++, this.#random(), expiryTime(lease.term), this.#backoff), task);
  }

  /** Counts and logs a failed Vault call (never with a secret); returns its class. */
  #failed(operation: string, err: unknown, context: Record<string, string>): LeaseFailure {
    const failure = classifyLeaseFailure(err);
    this.#metrics.sourceErrors.inc({ source: KIND, reason: `${operation}-${failure}` });
    this.#log.warn({ operation, failure, ...context, err: errorMessage(err) }, 'Vault call failed');
    return failure;
  }

  async #revokeLease(leaseId: string): Promise<boolean> {
    try {
      await this.#session.client.sys.revokeLease(leaseId);
      this.#log.info({ leaseId }, 'revoked lease');
      return true;
    } catch (err) {
      this.#failed('revoke', err, { leaseId });
      return false;
    }
  }
}
