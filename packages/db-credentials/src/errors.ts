/**
 * Error catalogue of @rotor/db-credentials. Codes are stable (callers and
 * metrics key on them); messages may change. Errors carry context such as the
 * lease id, username or file path, never a password or token.
 */
export type DbCredentialsErrorCode =
  | 'DBCREDS_ALREADY_STARTED'
  | 'DBCREDS_NOT_STARTED'
  | 'DBCREDS_STOPPED'
  | 'DBCREDS_FILE_INVALID'
  | 'DBCREDS_VERIFY_FAILED'
  | 'DBCREDS_EXPIRED'
  | 'DBCREDS_REFUSED'
  | 'DBCREDS_VAULT'
  | 'DBCREDS_LOGIN';

export interface DbCredentialsErrorContext {
  leaseId?: string;
  username?: string;
  path?: string;
  reason?: string;
}

export class DbCredentialsError extends Error {
  readonly code: DbCredentialsErrorCode;
  readonly context: DbCredentialsErrorContext;

  constructor(code: DbCredentialsErrorCode, message: string, context: DbCredentialsErrorContext = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DbCredentialsError';
    this.code = code;
    this.context = context;
  }
}

export function isDbCredentialsError(err: unknown, code?: DbCredentialsErrorCode): err is DbCredentialsError {
  return err instanceof DbCredentialsError && (code === undefined || err.code === code);
}
