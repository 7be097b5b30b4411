import { CodedError, errorGuard } from '@rotor/vault-client';

/**
 * Error catalogue of @rotor/db-credentials. Codes are stable (callers and
 * metrics key on them); messages may change. Errors carry context such as the
 * lease id, username or file path, never a password or token.
 */
export const DbCredentialsErrorCode = {
  ALREADY_STARTED: 'DBCREDS_ALREADY_STARTED',
  NOT_STARTED: 'DBCREDS_NOT_STARTED',
  STOPPED: 'DBCREDS_STOPPED',
  /** The agent's file is missing, unreadable or not credentials. */
  FILE_INVALID: 'DBCREDS_FILE_INVALID',
  /** New credentials failed their one verifying query: the current ones stay. */
  VERIFY_FAILED: 'DBCREDS_VERIFY_FAILED',
  /** The current credentials are past their expiry: queries are refused until new ones come. */
  EXPIRED: 'DBCREDS_EXPIRED',
  /** The database refused the credentials (login or privileges): revoked or not yet granted. */
  REFUSED: 'DBCREDS_REFUSED',
  /** Reading credentials from Vault failed. */
  VAULT: 'DBCREDS_VAULT',
  /** Logging in to Vault failed. */
  LOGIN: 'DBCREDS_LOGIN',
} as const;

export type DbCredentialsErrorCode = (typeof DbCredentialsErrorCode)[keyof typeof DbCredentialsErrorCode];

export interface DbCredentialsErrorContext {
  leaseId?: string;
  username?: string;
  path?: string;
  reason?: string;
}

export class DbCredentialsError extends CodedError<DbCredentialsErrorCode, DbCredentialsErrorContext> {
  constructor(code: DbCredentialsErrorCode, message: string, context: DbCredentialsErrorContext = {}, options?: ErrorOptions) {
    super(code, message, context, options);
  }
}

export const isDbCredentialsError = errorGuard(DbCredentialsError);
