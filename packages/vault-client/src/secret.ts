/**
 * Attaches a secret (token, password, unseal key) as a read-only,
 * non-enumerable property: readable by name, but never shown by
 * JSON.stringify, console.log, util.inspect or object spread.
 */
export function withSecrets<T extends object, S extends Record<string, unknown>>(target: T, secrets: S): T & Readonly<S> {
  for (const [key, value] of Object.entries(secrets)) {
    Object.defineProperty(target, key, { value, enumerable: false, writable: false, configurable: false });
  }
  return target as T & Readonly<S>;
}
