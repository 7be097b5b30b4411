import { CodedError, errorGuard } from '@rotor/vault-client';

// The one catalogue of this service's errors. Codes are stable API (clients and
// dashboards match on them); messages may be reworded. Messages never carry SQL
// text, stack traces or credentials.

export const UsersApiErrorCode = {
  /** Request failed schema validation (types, bounds, unknown fields). */
  VALIDATION: 'USERS_ERR_VALIDATION',
  /** Body is not valid JSON, or empty where JSON was announced. */
  MALFORMED_BODY: 'USERS_ERR_MALFORMED_BODY',
  /** Body exceeds the configured limit. */
  BODY_TOO_LARGE: 'USERS_ERR_BODY_TOO_LARGE',
  /** Body sent with a content type other than application/json. */
  UNSUPPORTED_MEDIA_TYPE: 'USERS_ERR_UNSUPPORTED_MEDIA_TYPE',
  /** No user with that id. */
  USER_NOT_FOUND: 'USERS_ERR_USER_NOT_FOUND',
  /** No such route. */
  ROUTE_NOT_FOUND: 'USERS_ERR_ROUTE_NOT_FOUND',
  /** A known path, a method it does not serve: 405 with an Allow header. */
  METHOD_NOT_ALLOWED: 'USERS_ERR_METHOD_NOT_ALLOWED',
  /** The database role this service runs as lacks the privilege (SQLSTATE 42501). */
  FORBIDDEN_BY_DATABASE_ROLE: 'USERS_ERR_FORBIDDEN_BY_DATABASE_ROLE',
  /** Database unreachable, or no valid credentials right now: retry later. */
  DATABASE_UNAVAILABLE: 'USERS_ERR_DATABASE_UNAVAILABLE',
  /** The service is shutting down or its credentials are about to expire. */
  NOT_READY: 'USERS_ERR_NOT_READY',
  /** Anything unexpected; details go to the log, not the response. */
  INTERNAL: 'USERS_ERR_INTERNAL',
  /** Invalid configuration at start-up. */
  CONFIG: 'USERS_ERR_CONFIG',
} as const;

export type UsersApiErrorCode = (typeof UsersApiErrorCode)[keyof typeof UsersApiErrorCode];

/** Base class of every error this service raises on purpose. */
export class UsersApiError<Context extends object = object> extends CodedError<UsersApiErrorCode, Context> {
  constructor(code: UsersApiErrorCode, message: string, context: Context, options?: ErrorOptions) {
    super(code, message, context, options);
  }
}

export const isUsersApiError = errorGuard(UsersApiError);

/** Start-up configuration problems, all of them at once. */
export class ConfigError extends UsersApiError<{ problems: readonly string[] }> {
  constructor(problems: readonly string[]) {
    super(UsersApiErrorCode.CONFIG, `invalid configuration:\n  - ${problems.join('\n  - ')}`, { problems });
  }

  get problems(): readonly string[] {
    return this.context.problems;
  }
}

export const isConfigError = errorGuard(ConfigError);

export class UserNotFoundError extends UsersApiError<{ id: number }> {
  constructor(id: number) {
    super(UsersApiErrorCode.USER_NOT_FOUND, `user ${id} not found`, { id });
  }
}
