import type { Logger } from 'pino';
import { errorMessage, type VaultClient } from '@rotor/vault-client';
import { DbCredentialsError } from './errors.ts';
import { Lifecycle } from './lifecycle.ts';
import { ScheduledTask } from './scheduled-task.ts';
import { expiryTime, isTruncated, renewalTime, retryTime, type BackoffPolicy, type RenewalPolicy } from './timing.ts';
import type { LeaseFailure } from './vault-failures.ts';
import { describeLogin, login, type TokenGrant, type VaultLogin } from './vault-login.ts';

export interface VaultTokenSessionOptions {
  /** Address and TLS settings; its own token (if any) is not used. */
  vault: VaultClient;
  login: VaultLogin;
  log: Logger;
  renewal: RenewalPolicy;
  backoff: BackoffPolicy;
  now: () => number;
  random: () => number;
  /** Counts and logs a failed Vault call; returns its class. */
  failed: (operation: string, err: unknown, context: Record<string, string>) => LeaseFailure;
  /** After a fresh login: the leases of the old token die with it, so the owner re-issues. */
  afterRelogin: () => Promise<unknown>;
}

/**
 * A Vault token kept alive: logs in (or looks up a static token), renews at about 2/3 of its
 * TTL, logs in again when a renewal is truncated (max TTL) or refused, retrying with backoff
 * while Vault is away, and revokes the token on stop if a login minted it. Its states are its
 * lifecycle's (new, starting, running, stopping, stopped), with at most one re-login in flight.
 */
export class VaultTokenSession {
  readonly #options: VaultTokenSessionOptions;
  readonly #login: VaultLogin;
  readonly #lifecycle = new Lifecycle('VaultTokenSession');
  readonly #renewal: ScheduledTask;
  #token: TokenGrant | undefined;
  /** The increment asked at each renewal: the TTL the login granted. */
  #requestedSec = 0;
  #failures = 0;
  #relogging: Promise<void> | undefined;
  #stopped = false;

  constructor(options: VaultTokenSessionOptions) {
    this.#options = options;
    this.#login = { ...options.login };
    this.#renewal = new ScheduledTask({
      now: options.now,
      onError: (err) => void options.failed('background', err, {}),
      stopping: () => this.#lifecycle.stopping,
    });
  }

  /** A client carrying the current token. */
  get client(): VaultClient {
    return this.#grant().client;
  }

  /** Whether a fresh token can be had by logging in again (false for a static token). */
  get canRelogin(): boolean {
    return this.#grant().canRelogin;
  }

  /** Logs in; renewals start with `keepAlive()`, once the owner is ready for re-logins. */
  async start(): Promise<void> {
    this.#lifecycle.beginStart();
    try {
      this.#set(await login(this.#options.vault, this.#login, this.#options.now));
    } catch (err) {
      this.#lifecycle.endStart(false);
      throw new DbCredentialsError('DBCREDS_LOGIN', `Vault login (${this.#login.method}) failed: ${errorMessage(err)}`, {}, { cause: err });
    }
    this.#lifecycle.endStart(true);
    this.#options.log.info({ login: describeLogin(this.#login), tokenTtlSec: this.#token?.durationSec }, 'logged in to Vault');
  }

  keepAlive(): void {
    this.#scheduleRenewal();
  }

  /** A fresh token, then the owner's re-issue; one at a time, shared by concurrent callers. */
  relogin(): Promise<void> {
    this.#relogging ??= this.#relogin().finally(() => {
      this.#relogging = undefined;
    });
    return this.#relogging;
  }

  /** Between a successful start() and stop(). */
  get running(): boolean {
    return this.#lifecycle.running;
  }

  /** Stops renewing and waits for work in flight; the token stays usable until `stop()`. */
  async halt(): Promise<void> {
    if (!this.#lifecycle.stopping) this.#lifecycle.beginStop();
    this.#renewal.cancel();
    await Promise.all([this.#renewal.settled(), this.#relogging]);
    this.#renewal.cancel();
  }

  /** Halts, then revokes the token if a login minted it (a static token belongs to the caller). */
  async stop(): Promise<void> {
    if (this.#stopped) throw new DbCredentialsError('DBCREDS_STOPPED', 'VaultTokenSession is already stopped');
    this.#stopped = true;
    await this.halt();
    await this.#revoke();
    this.#lifecycle.endStop();
  }

  #grant(): TokenGrant {
    if (this.#token === undefined) throw new DbCredentialsError('DBCREDS_NOT_STARTED', 'VaultTokenSession has no token');
    return this.#token;
  }

  #set(token: TokenGrant): void {
    this.#token = token;
    this.#requestedSec = token.durationSec;
    this.#failures = 0;
  }

  async #relogin(): Promise<void> {
    try {
      this.#set(await login(this.#options.vault, this.#login, this.#options.now));
    } catch (err) {
      this.#options.failed('login', err, {});
      this.#retry(() => this.relogin());
      return;
    }
    this.#options.log.info({ login: describeLogin(this.#login), tokenTtlSec: this.#token?.durationSec }, 'logged in to Vault again');
    this.#scheduleRenewal();
    await this.#options.afterRelogin();
  }

  async #renew(): Promise<void> {
    const token = this.#grant();
    const { log } = this.#options;
    if (!token.renewable) {
      if (token.canRelogin) await this.relogin();
      else log.warn('static token is not renewable: leases end with it');
      return;
    }
    try {
      const auth = await token.client.auth.renewSelf(this.#requestedSec);
      if (this.#token !== token || this.#lifecycle.stopping) return;
      this.#token = { ...token, durationSec: auth.leaseDuration, grantedAtMs: this.#options.now(), renewable: auth.renewable };
      this.#failures = 0;
      if (isTruncated(this.#requestedSec, auth.leaseDuration)) {
        if (token.canRelogin) {
          log.info({ askedSec: this.#requestedSec, grantedSec: auth.leaseDuration }, 'token renewal truncated: logging in again');
          await this.relogin();
          return;
        }
        log.warn({ grantedSec: auth.leaseDuration }, 'static token nears its max TTL: leases end with it');
      }
      log.debug({ grantedSec: auth.leaseDuration }, 'renewed token');
      this.#scheduleRenewal();
    } catch (err) {
      if (this.#options.failed('renew-token', err, {}) === 'denied' && token.canRelogin) {
        await this.relogin();
        return;
      }
      this.#retry(() => this.#renew());
    }
  }

  #scheduleRenewal(): void {
    const token = this.#grant();
    const at = renewalTime({ durationSec: token.durationSec, grantedAtMs: token.grantedAtMs }, this.#options.random(), this.#options.renewal);
    if (at !== undefined) this.#renewal.at(at, () => this.#renew());
  }

  /** Tries `task` again after a backoff, never later than half the token's time left. */
  #retry(task: () => Promise<void>): void {
    const token = this.#grant();
    const end = expiryTime({ durationSec: token.durationSec, grantedAtMs: token.grantedAtMs });
    const { now, random, backoff } = this.#options;
    this.#renewal.at(retryTime(now(), this.#failures++, random(), end, backoff), task);
  }

  async #revoke(): Promise<void> {
    const token = this.#token;
    if (!token?.canRelogin) return;
    try {
      await token.client.auth.revokeSelf();
    } catch (err) {
      this.#options.failed('revoke-token', err, {});
    }
  }
}
