/**
 * Attaches secrets (token, password, unseal keys) as read-only,
 * non-enumerable getters: readable by name, but never shown by
 * JSON.stringify, console.log, util.inspect (even with showHidden or `%o`,
 * which print a getter as [Getter], not its value) or object spread.
 */
export function withSecrets<T extends object, S extends Record<string, unknown>>(target: T, secrets: S): T & Readonly<S> {
  for (const [key, value] of Object.entries(secrets)) {
    Object.defineProperty(target, key, { get: () => value, enumerable: false, configurable: false });
  }
  return target as T & Readonly<S>;
}
