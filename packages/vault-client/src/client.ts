import { setTimeout as sleep } from 'node:timers/promises';
import { VaultError, VaultErrorCode, httpError, isVaultError } from './errors.ts';
import { defaultRetryPolicy, networkErrorCode, retryAfterMs, retryDelayMs, shouldRetry } from './retry.ts';
import type { RetryPolicy } from './retry.ts';
import { isCertificateErrorCode, transportFor } from './transport.ts';
import type { FetchLike } from './transport.ts';
import { AuthApi } from './auth.ts';
import { DatabaseApi } from './database.ts';
import { SysApi } from './sys.ts';
import type { ExchangeOptions, RequestOptions, VaultAnswer, VaultMethod, VaultRequester } from './requests.ts';

export interface RetryEvent {
  method: string;
  path: string;
  /** The attempt that failed, from 1. */
  attempt: number;
  delayMs: number;
  error: VaultError;
}

export interface VaultClientOptions {
  /** e.g. https://vault.vault.svc:8200 */
  address: string;
  token?: string;
  /**
   * PEM bundle trusted for https addresses, instead of the system roots (Vault's
   * VAULT_CACERT). Ignored for http addresses, as Vault's CLI does, so callers
   * pass it unconditionally.
   */
  caCert?: string | undefined;
  /** Limit of each attempt, redirects and body included. Default 10 s. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Replaces the transport (default: global fetch; undici's, trusting caCert, for https with caCert). */
  fetch?: FetchLike;
  /** Source of jitter in [0, 1); default Math.random. */
  random?: () => number;
  /** Called before each pause between attempts, e.g. to count retries. */
  onRetry?: (event: RetryEvent) => void;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_REDIRECTS = 5;

type AttemptResult = { ok: true; answer: VaultAnswer } | { ok: false; error: VaultError; retryAfterMs?: number };

/**
 * Typed client for the Vault / OpenBao HTTP API. The token is held privately
 * and only ever put into the X-Vault-Token header.
 */
export class VaultClient implements VaultRequester {
  readonly address: string;
  readonly sys: SysApi;
  readonly auth: AuthApi;
  readonly database: DatabaseApi;
  readonly #options: VaultClientOptions;
  readonly #token: string | undefined;
  readonly #fetch: FetchLike;
  readonly #retry: RetryPolicy;
  readonly #timeoutMs: number;

  constructor(options: VaultClientOptions) {
    this.address = options.address.replace(/\/+$/, '');
    this.#options = options;
    this.#token = options.token;
    this.#fetch = options.fetch ?? transportFor(options.caCert);
    this.#retry = { ...defaultRetryPolicy, ...options.retry };
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.sys = new SysApi(this);
    this.auth = new AuthApi(this);
    this.database = new DatabaseApi(this);
  }

  /** Whether a token is set (the token itself is never exposed). */
  get hasToken(): boolean {
    return this.#token !== undefined;
  }

  /** The same settings with another token (e.g. after a login). */
  withToken(token: string): VaultClient {
    return new VaultClient({ ...this.#options, token });
  }

  /**
   * Sends a request and returns the parsed (and, with `schema`, validated)
   * answer; undefined for an empty answer. Throws VaultError otherwise.
   */
  async request<T = unknown>(method: VaultMethod, path: string, options: RequestOptions<T> = {}): Promise<T | undefined> {
    const { schema, ...rest } = options;
    const { body } = await this.exchange(method, path, rest);
    if (body === undefined || schema === undefined) return body as T | undefined;
    const parsed = schema.safeParse(body);
    if (parsed.success) return parsed.data;
    // Only paths and messages of the issues: values could be secrets.
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new VaultError(VaultErrorCode.INVALID_RESPONSE, `${method} ${path}: unexpected answer (${issues})`, {
      method,
      path,
    });
  }

  /** Like request(), but returns the status too and lets `acceptStatuses` through. */
  async exchange(method: VaultMethod, path: string, options: ExchangeOptions = {}): Promise<VaultAnswer> {
    const idempotent = options.idempotent ?? (method === 'GET' || method === 'LIST' || method === 'DELETE');
    const random = this.#options.random ?? Math.random;
    for (let attempt = 1; ; attempt++) {
      const result = await this.#attempt(method, path, options);
      if (result.ok) return result.answer;
      const { error } = result;
      if (attempt >= this.#retry.attempts || !shouldRetry(error, idempotent)) {
        throw withAttempts(error, attempt);
      }
      const delayMs = retryDelayMs(attempt - 1, this.#retry, random(), result.retryAfterMs);
      this.#options.onRetry?.({ method, path, attempt, delayMs, error });
      try {
        await sleep(delayMs, undefined, options.signal ? { signal: options.signal } : undefined);
      } catch (cause) {
        throw new VaultError(VaultErrorCode.ABORTED, `${method} ${path}: aborted`, { method, path, attempts: attempt, cause });
      }
    }
  }

  #url(path: string, method: VaultMethod, query: ExchangeOptions['query']): string {
    const url = new URL(`${this.address}/v1/${path.replace(/^\/+/, '')}`);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    if (method === 'LIST') url.searchParams.set('list', 'true');
    return url.href;
  }

  /** One attempt: the request plus any standby redirects, under one timeout. */
  async #attempt(method: VaultMethod, path: string, options: ExchangeOptions): Promise<AttemptResult> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const headers: Record<string, string> = { 'X-Vault-Request': 'true' };
    if (this.#token !== undefined) headers['X-Vault-Token'] = this.#token;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['Content-Type'] = 'application/json';
    }
    const init: RequestInit = { method: method === 'LIST' ? 'GET' : method, headers, signal, redirect: 'manual' };
    if (body !== undefined) init.body = body;
    let url = this.#url(path, method, options.query);
    try {
      for (let hop = 0; ; hop++) {
        const res = await this.#fetch(url, init);
        if (res.status === 307 || res.status === 308) {
          // A standby points at the active node: repeat the same method and body there.
          const location = res.headers.get('location');
          await res.body?.cancel();
          if (location === null || hop >= MAX_REDIRECTS) {
            const why = location === null ? 'redirect without Location' : `more than ${MAX_REDIRECTS} redirects`;
            return { ok: false, error: new VaultError(VaultErrorCode.REDIRECT, `${method} ${path}: ${why}`, { method, path, status: res.status }) };
          }
          url = new URL(location, url).href;
          continue;
        }
        return await this.#read(res, method, path, options.acceptStatuses ?? []);
      }
    } catch (cause) {
      if (isVaultError(cause)) return { ok: false, error: cause };
      if (options.signal?.aborted) {
        return { ok: false, error: new VaultError(VaultErrorCode.ABORTED, `${method} ${path}: aborted`, { method, path, cause }) };
      }
      if (timeout.aborted) {
        const message = `${method} ${path}: no answer within ${this.#timeoutMs} ms`;
        return { ok: false, error: new VaultError(VaultErrorCode.TIMEOUT, message, { method, path, cause }) };
      }
      const code = networkErrorCode(cause) ?? 'unknown';
      // A refused certificate is a setting to fix, not a network hiccup: say so and which host.
      const message = isCertificateErrorCode(code)
        ? `${method} ${path}: the TLS certificate of ${new URL(url).host} is not trusted (${code}): ${this.#options.caCert === undefined ? 'no CA given, system roots used' : 'the CA given did not sign it'}`
        : `${method} ${path}: network error (${code})`;
      return { ok: false, error: new VaultError(VaultErrorCode.NETWORK, message, { method, path, cause }) };
    }
  }

  async #read(res: Response, method: VaultMethod, path: string, acceptStatuses: readonly number[]): Promise<AttemptResult> {
    const text = await res.text();
    let body: unknown;
    let parseFailed = false;
    if (text.trim() !== '') {
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        parseFailed = true;
      }
    }
    if (res.ok || acceptStatuses.includes(res.status)) {
      if (parseFailed) {
        const message = `${method} ${path}: answer with status ${res.status} is not JSON`;
        return { ok: false, error: new VaultError(VaultErrorCode.INVALID_RESPONSE, message, { method, path, status: res.status }) };
      }
      return { ok: true, answer: { status: res.status, body } };
    }
    const error = httpError(method, path, res.status, vaultErrors(body));
    const retryAfter = retryAfterMs(res.headers.get('retry-after'), Date.now());
    return retryAfter === undefined ? { ok: false, error } : { ok: false, error, retryAfterMs: retryAfter };
  }
}

/** Vault's `errors: string[]` from an error body, if there is one. */
function vaultErrors(body: unknown): string[] {
  if (typeof body !== 'object' || body === null) return [];
  const errors = (body as { errors?: unknown }).errors;
  return Array.isArray(errors) ? errors.filter((e): e is string => typeof e === 'string') : [];
}

function withAttempts(error: VaultError, attempts: number): VaultError {
  if (attempts === 1) return error;
  const { code, method, path, status, errors } = error;
  return new VaultError(code, `${error.message} (after ${attempts} attempts)`, {
    method,
    path,
    ...(status === undefined ? {} : { status }),
    errors,
    attempts,
    cause: error.cause,
  });
}
