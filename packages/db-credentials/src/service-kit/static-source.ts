// Fixed credentials for local development: nothing to rotate, nothing to revoke.
// It keeps the same start/stop rules as the other sources (Lifecycle), so a
// service that misuses its source fails the same way in development as in production.
import { createDbCredentials, type DbCredentials } from '../credentials.ts';
import { Lifecycle } from '../lifecycle.ts';
import type { CredentialSource } from '../source.ts';

export class StaticSource implements CredentialSource {
  readonly kind = 'static';
  readonly #creds: DbCredentials;
  readonly #lifecycle = new Lifecycle('StaticSource');

  constructor(username: string, password: string) {
    this.#creds = createDbCredentials({ username, password });
  }

  // Through a promise: a misuse rejects (as with the other sources) rather than throwing synchronously.
  start(): Promise<DbCredentials> {
    return Promise.resolve().then(() => {
      this.#lifecycle.beginStart();
      this.#lifecycle.endStart(true);
      return this.#creds;
    });
  }

  stop(): Promise<void> {
    return Promise.resolve().then(() => {
      this.#lifecycle.beginStop();
      this.#lifecycle.endStop();
    });
  }

  current(): DbCredentials {
    this.#lifecycle.assertRunning('current');
    return this.#creds;
  }

  subscribe(): () => void {
    return () => undefined;
  }

  /** Nothing fresher exists: nothing is delivered. */
  refresh(): Promise<void> {
    return Promise.resolve().then(() => {
      this.#lifecycle.assertRunning('refresh');
    });
  }

  /** Nothing was obtained, so nothing to revoke. */
  release(): Promise<void> {
    return Promise.resolve();
  }
}
