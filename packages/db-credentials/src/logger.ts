import { pino, type Logger } from 'pino';

/** Used when the caller passes no logger: silent, never a console fallback. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * Paths a pino logger should censor, as a second line of defence: this package
 * never logs secrets, but callers may log the objects they pass in.
 */
export const SECRET_LOG_PATHS: string[] = ['password', '*.password', 'token', '*.token', 'secretId', '*.secretId', 'jwt', '*.jwt'];

export type { Logger };
