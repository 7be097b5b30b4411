// Init-container mode: the credentials file is never renewed, so when the
// database refuses those credentials (an admin revoked the lease) nothing in
// the pod can repair them. This source wrapper tells the service at the first
// refusal, so it leaves at once (not-ready, then eviction) instead of failing
// every request until the expiry it planned to leave at.
import type { DbCredentials } from '../credentials.ts';
import type { CredentialListener, CredentialSource } from '../source.ts';

export class RefusalNotifyingSource implements CredentialSource {
  readonly #source: CredentialSource;
  readonly #onRefused: () => void;

  constructor(source: CredentialSource, onRefused: () => void) {
    this.#source = source;
    this.#onRefused = onRefused;
  }

  get kind(): string {
    return this.#source.kind;
  }

  start(): Promise<DbCredentials> {
    return this.#source.start();
  }

  stop(): Promise<void> {
    return this.#source.stop();
  }

  current(): DbCredentials {
    return this.#source.current();
  }

  subscribe(listener: CredentialListener): () => void {
    return this.#source.subscribe(listener);
  }

  /** Called by the pool when the database refused `stale`: the credentials are gone for good here. */
  async refresh(stale: DbCredentials): Promise<void> {
    this.#onRefused();
    return this.#source.refresh(stale);
  }

  release(creds: DbCredentials): Promise<void> {
    return this.#source.release(creds);
  }

  expiryOf(creds: DbCredentials): Date | undefined {
    return this.#source.expiryOf?.(creds) ?? creds.expiresAt;
  }
}
