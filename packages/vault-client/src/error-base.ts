// What every Rotor package's errors share: one base class and one guard shape, so that
// `isXError(err, code?)` reads the same everywhere and callers key on stable codes.

/**
 * The base of every package's error: a stable `code` (callers, exit codes and dashboards key
 * on it; messages may change, codes may not) and a `context` naming what it concerns (node,
 * path, lease, file), never a secret. Each package has one subclass and one code catalogue.
 */
export class CodedError<Code extends string = string, Context extends object = object> extends Error {
  readonly code: Code;
  readonly context: Readonly<Context>;

  constructor(code: Code, message: string, context: Context, options?: ErrorOptions) {
    // No `cause: undefined` own property when there is none: it would show in every log line.
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.context = context;
  }
}

/** The guard of an error class: `isXError(err)` for any of its errors, `isXError(err, code)` for one code. */
export function errorGuard<E extends CodedError>(type: abstract new (...args: never[]) => E): (err: unknown, code?: E['code']) => err is E {
  return (err: unknown, code?: E['code']): err is E => err instanceof type && (code === undefined || err.code === code);
}

/** A message for logs and users, whatever was thrown (an Error's message, or the value as text). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A log field for any thrown value: its message, plus its code when it carries a string one (a CodedError's, pg's SQLSTATE, Node's errno name). */
export function errorSummary(err: unknown): { message: string; code?: string } {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? { message: errorMessage(err), code } : { message: errorMessage(err) };
}
