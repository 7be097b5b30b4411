import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { UsersApiErrorCode, UserNotFoundError, UsersApiError } from '../src/errors.ts';
import { RETRY_AFTER_SECONDS, toHttpError } from '../src/http-errors.ts';

/** A pg DatabaseError-like value: pg puts the SQLSTATE in `code`. */
const pgError = (code: string, message = 'permission denied for table users') => Object.assign(new Error(message), { code, severity: 'ERROR' });

describe('toHttpError', () => {
  it('42501 is the seed demonstration: 403 naming the database role, no SQL text', () => {
    const answer = toHttpError(pgError('42501', 'permission denied for table users: INSERT INTO users (title) VALUES ($1)'));
    assert.equal(answer.status, 403);
    assert.equal(answer.body.error, UsersApiErrorCode.FORBIDDEN_BY_DATABASE_ROLE);
    assert.match(answer.body.message, /database role lacks/);
    assert.doesNotMatch(answer.body.message, /INSERT|users/);
    assert.equal(answer.fault, false);
  });

  it('validation errors keep fastify\'s field message', () => {
    const err = Object.assign(new Error('body/title must be string'), { validation: [{}], statusCode: 400, code: 'FST_ERR_VALIDATION' });
    assert.deepEqual(toHttpError(err), { status: 400, body: { error: UsersApiErrorCode.VALIDATION, message: 'body/title must be string' }, fault: false });
  });

  it('maps body problems to 400, 413 and 415', () => {
    const fst = (code: string, statusCode: number) => Object.assign(new Error('x'), { code, statusCode });
    assert.equal(toHttpError(fst('FST_ERR_CTP_INVALID_JSON_BODY', 400)).body.error, UsersApiErrorCode.MALFORMED_BODY);
    assert.equal(toHttpError(fst('FST_ERR_CTP_EMPTY_JSON_BODY', 400)).status, 400);
    assert.equal(toHttpError(fst('FST_ERR_CTP_BODY_TOO_LARGE', 413)).status, 413);
    assert.equal(toHttpError(fst('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415)).status, 415);
    assert.equal(toHttpError(fst('FST_ERR_SOMETHING_NEW', 400)).status, 400);
  });

  it('database unreachable or credentials refused: 503 with Retry-After', () => {
    const cases: unknown[] = [
      pgError('28P01', 'password authentication failed for user "v-token-db-reader-xyz"'),
      pgError('57P01', 'terminating connection due to administrator command'),
      pgError('53300', 'sorry, too many clients already'),
      pgError('08006'),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      new Error('timeout exceeded when trying to connect'),
      new Error('Connection terminated unexpectedly'),
    ];
    for (const err of cases) {
      const answer = toHttpError(err);
      assert.equal(answer.status, 503, String(err));
      assert.equal(answer.retryAfter, RETRY_AFTER_SECONDS);
      assert.equal(answer.body.error, UsersApiErrorCode.DATABASE_UNAVAILABLE);
      assert.doesNotMatch(answer.body.message, /v-token|127\.0\.0\.1|password/);
    }
  });

  it('credential-layer codes given by the caller are 503 too', () => {
    const err = Object.assign(new Error('RotatingPool: query after stop'), { code: 'DBCREDS_STOPPED' });
    assert.equal(toHttpError(err).status, 500);
    assert.equal(toHttpError(err, new Set(['DBCREDS_STOPPED'])).status, 503);
  });

  it('a data exception the schemas missed is the client\'s 400', () => {
    const answer = toHttpError(pgError('22021', 'invalid byte sequence for encoding "UTF8": 0x00'));
    assert.equal(answer.status, 400);
    assert.doesNotMatch(answer.body.message, /0x00|UTF8/);
  });

  it('not found and not ready', () => {
    assert.deepEqual(toHttpError(new UserNotFoundError(7)), { status: 404, body: { error: UsersApiErrorCode.USER_NOT_FOUND, message: 'user 7 not found' }, fault: false });
    const notReady = toHttpError(new UsersApiError(UsersApiErrorCode.NOT_READY, 'shutting down', {}));
    assert.equal(notReady.status, 503);
    assert.equal(notReady.retryAfter, RETRY_AFTER_SECONDS);
  });

  it('anything else is a 500 fault with a fixed message', () => {
    for (const err of [new TypeError("Cannot read properties of undefined (reading 'id')"), pgError('42P01', 'relation "users" does not exist'), 'a string', undefined]) {
      const answer = toHttpError(err);
      assert.deepEqual(answer, { status: 500, body: { error: UsersApiErrorCode.INTERNAL, message: 'internal error' }, fault: true });
    }
  });
});
