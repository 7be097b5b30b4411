// Fixed credentials for local development: nothing to rotate, nothing to revoke.
import { createDbCredentials, type CredentialSource, type DbCredentials } from '@rotor/db-credentials';

export class StaticSource implements CredentialSource {
  readonly kind = 'static';
  readonly #creds: DbCredentials;

  constructor(username: string, password: string) {
    this.#creds = createDbCredentials({ username, password });
  }

  start(): Promise<DbCredentials> {
    return Promise.resolve(this.#creds);
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  current(): DbCredentials {
    return this.#creds;
  }

  subscribe(): () => void {
    return () => undefined;
  }

  refresh(): Promise<DbCredentials> {
    return Promise.resolve(this.#creds);
  }

  release(): Promise<void> {
    return Promise.resolve();
  }
}
