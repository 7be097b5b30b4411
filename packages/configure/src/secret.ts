import { inspect } from 'node:util';

/** Where a secret comes from: an environment variable or a file, never the config file itself. */
export type SecretSource = { fromEnv: string } | { fromFile: string };

/**
 * A secret value read from its source. The value is private: JSON, logs,
 * plans and `util.inspect` show only where it comes from.
 */
export class Secret {
  readonly source: SecretSource;
  readonly #value: string;

  constructor(source: SecretSource, value: string) {
    this.source = source;
    this.#value = value;
  }

  /** The value, for the one place that needs it: the request body sent to Vault. */
  reveal(): string {
    return this.#value;
  }

  /** e.g. "(secret, from env PG_ROOT_PASSWORD)". */
  describe(): string {
    return 'fromEnv' in this.source ? `(secret, from env ${this.source.fromEnv})` : `(secret, from file ${this.source.fromFile})`;
  }

  toJSON(): string {
    return this.describe();
  }

  toString(): string {
    return this.describe();
  }

  [inspect.custom](): string {
    return this.describe();
  }
}

/** A request body with every Secret replaced by its value, just before sending. */
export function revealSecrets(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, v instanceof Secret ? v.reveal() : v]));
}
