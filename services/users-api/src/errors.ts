// The one catalogue of this service's errors. Codes are stable API (clients and
// dashboards match on them); messages may be reworded. Messages never carry SQL
// text, stack traces or credentials.

export const ErrorCodes = {
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

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Base class of every error this service raises on purpose. */
export class UsersApiError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UsersApiError';
    this.code = code;
  }
}

export function isUsersApiError(err: unknown): err is UsersApiError {
  return err instanceof UsersApiError;
}

/** Start-up configuration problems, all of them at once. */
export class ConfigError extends UsersApiError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(ErrorCodes.CONFIG, `invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function isConfigError(err: unknown): err is ConfigError {
  return err instanceof ConfigError;
}

export class UserNotFoundError extends UsersApiError {
  constructor(id: number) {
    super(ErrorCodes.USER_NOT_FOUND, `user ${id} not found`);
    this.name = 'UserNotFoundError';
  }
}
