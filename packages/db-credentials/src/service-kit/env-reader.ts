// Reads a service's settings from the environment, collecting every problem
// instead of stopping at the first, so an operator fixes the manifest in one go.

export type Env = Record<string, string | undefined>;

export class EnvReader {
  readonly problems: string[] = [];
  readonly #env: Env;
  constructor(env: Env) {
    this.#env = env;
  }

  optional(name: string): string | undefined {
    const value = this.#env[name]?.trim();
    return value === '' ? undefined : value;
  }

  string(name: string, fallback: string): string {
    return this.optional(name) ?? fallback;
  }

  required(name: string, why: string): string {
    const value = this.optional(name);
    if (value === undefined) this.problems.push(`${name} is required ${why}`);
    return value ?? '';
  }

  /** Secrets are taken verbatim (no trim) and never echoed in a problem. */
  secret(name: string, why: string): string {
    const value = this.#env[name];
    if (value === undefined || value === '') this.problems.push(`${name} is required ${why}`);
    return value ?? '';
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      this.problems.push(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T | undefined): T {
    const raw = this.optional(name);
    if (raw === undefined) {
      if (fallback !== undefined) return fallback;
      this.problems.push(`${name} is required: one of ${allowed.join(', ')}`);
      return allowed[0] as T;
    }
    if (!(allowed as readonly string[]).includes(raw)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
      return allowed[0] as T;
    }
    return raw as T;
  }
}
