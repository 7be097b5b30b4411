// Maps anything a request can throw to an HTTP answer. Pure: the error handler
// logs and sends what this returns. Responses carry a code and a fixed or
// validator-built message, never the original error text (it may hold SQL).
import { UsersApiErrorCode, isUsersApiError } from './errors.ts';

export interface HttpError {
  status: number;
  body: { error: UsersApiErrorCode; message: string };
  /** Seconds, for 503 answers. */
  retryAfter?: number;
  /** Whether this is a server-side fault worth an error log line. */
  fault: boolean;
}

/** Seconds a client should wait after a 503: a rotation or reconnect takes about that long. */
export const RETRY_AFTER_SECONDS = 2;

// SQLSTATE classes and codes meaning "the database cannot serve us right now".
const UNAVAILABLE_SQLSTATE_CLASSES = ['08', '53', '57'];
const UNAVAILABLE_SQLSTATES = new Set(['28P01', '28000', '3D000']);
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);
// node-postgres raises these without a code when a connection cannot be had or dies.
const UNAVAILABLE_PG_MESSAGES = /^(timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error|Cannot use a pool after calling end)/;

interface ErrorShape {
  code?: unknown;
  statusCode?: unknown;
  validation?: unknown;
  message?: unknown;
}

function shape(err: unknown): ErrorShape {
  return typeof err === 'object' && err !== null ? err : {};
}

/** True when the error means "no database right now" rather than a bug or bad input. */
export function isDatabaseUnavailable(err: unknown, extraCodes: ReadonlySet<string> = new Set()): boolean {
  const { code, message } = shape(err);
  if (typeof code === 'string') {
    if (extraCodes.has(code) || UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_ERRNOS.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && UNAVAILABLE_SQLSTATE_CLASSES.includes(code.slice(0, 2))) return true;
  }
  return typeof message === 'string' && UNAVAILABLE_PG_MESSAGES.test(message);
}

const answer = (status: number, error: UsersApiErrorCode, message: string, fault = false): HttpError => ({ status, body: { error, message }, fault });

/**
 * `unavailableCodes` are the credential layer's codes meaning "no valid credentials"
 * (db-credentials), so this module needs no import of it.
 */
export function toHttpError(err: unknown, unavailableCodes: ReadonlySet<string> = new Set()): HttpError {
  const e = shape(err);
  if (isUsersApiError(err)) {
    switch (err.code) {
      case UsersApiErrorCode.USER_NOT_FOUND:
        return answer(404, err.code, err.message);
      case UsersApiErrorCode.NOT_READY:
        return { ...answer(503, err.code, err.message), retryAfter: RETRY_AFTER_SECONDS };
      default:
        return answer(500, UsersApiErrorCode.INTERNAL, 'internal error', true);
    }
  }
  if (e.validation !== undefined && typeof e.message === 'string') {
    return answer(400, UsersApiErrorCode.VALIDATION, e.message);
  }
  switch (e.code) {
    case '42501':
      return answer(403, UsersApiErrorCode.FORBIDDEN_BY_DATABASE_ROLE, "this service's database role lacks the privilege for this operation");
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return answer(413, UsersApiErrorCode.BODY_TOO_LARGE, 'request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return answer(415, UsersApiErrorCode.UNSUPPORTED_MEDIA_TYPE, 'send the body as application/json');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return answer(400, UsersApiErrorCode.MALFORMED_BODY, 'request body is not valid JSON');
  }
  if (isDatabaseUnavailable(err, unavailableCodes)) {
    return { ...answer(503, UsersApiErrorCode.DATABASE_UNAVAILABLE, 'the database is unavailable or credentials are being renewed; retry later'), retryAfter: RETRY_AFTER_SECONDS };
  }
  // A data exception (SQLSTATE class 22) is input the schemas let through; still the client's fault.
  if (typeof e.code === 'string' && /^22[0-9A-Z]{3}$/.test(e.code)) {
    return answer(400, UsersApiErrorCode.VALIDATION, 'a value is not acceptable to the database');
  }
  // Other 4xx raised by fastify itself (e.g. a prototype-poisoned body).
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return answer(e.statusCode, UsersApiErrorCode.MALFORMED_BODY, 'request rejected');
  }
  return answer(500, UsersApiErrorCode.INTERNAL, 'internal error', true);
}
