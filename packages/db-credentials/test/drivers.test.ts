// How each driver reads a failure into the pool's kinds (the real servers' errors are
// read in rotating-pool.int and mysql-driver.int; here the tables, code by code).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { classifyPostgresError, postgresDriver } from '../src/drivers/postgres.ts';
import { classifyMysqlError, mysqlDriver } from '../src/drivers/mysql.ts';

function pgError(code: string): pg.DatabaseError {
  const err = new pg.DatabaseError('boom', 0, 'error');
  err.code = code;
  return err;
}

/** The shape mysql2 gives a server's error: code, errno, sqlState; `fatal` when the connection is gone. */
function mysqlError(code: string, errno: number, fatal = false): Error {
  return Object.assign(new Error('boom'), { code, errno, sqlState: 'HY000', ...(fatal ? { fatal: true } : {}) });
}

describe('postgres driver', () => {
  it('reads SQLSTATEs into kinds', () => {
    const cases: [string, string, boolean][] = [
      ['28P01', 'login-refused', false],
      ['28000', 'login-refused', false],
      ['42501', 'permission-denied', false],
      ['57P01', 'backend-terminated', true],
      ['57P03', 'server-unavailable', true],
      ['08006', 'other', true],
      ['23505', 'other', false],
    ];
    for (const [code, kind, breaks] of cases) assert.deepEqual(classifyPostgresError(pgError(code)), { kind, breaksConnection: breaks }, code);
    assert.deepEqual(classifyPostgresError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })), { kind: 'server-unavailable', breaksConnection: true });
    assert.deepEqual(classifyPostgresError(new TypeError('a bug in the caller')), { kind: 'other', breaksConnection: true });
  });

  it('takes its max from the pg settings (pg.Pool: 10)', () => {
    assert.equal(postgresDriver({ max: 4 }).maxConnections, 4);
    assert.equal(postgresDriver({}).maxConnections, 10);
  });
});

describe('mysql driver', () => {
  it('reads server error codes into kinds; only ordinary statement errors keep the connection', () => {
    const cases: [Error, string, boolean][] = [
      [mysqlError('ER_ACCESS_DENIED_ERROR', 1045), 'login-refused', false],
      [mysqlError('ER_DBACCESS_DENIED_ERROR', 1044), 'login-refused', false],
      [mysqlError('ER_TABLEACCESS_DENIED_ERROR', 1142), 'permission-denied', false],
      [mysqlError('ER_COLUMNACCESS_DENIED_ERROR', 1143), 'permission-denied', false],
      [mysqlError('ER_SERVER_SHUTDOWN', 1053), 'backend-terminated', true],
      [mysqlError('ER_CONNECTION_KILLED', 1927), 'backend-terminated', true],
      [mysqlError('ER_DUP_ENTRY', 1062), 'other', false],
      [mysqlError('ER_LOCK_DEADLOCK', 1213, true), 'other', true],
      [Object.assign(new Error('lost'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }), 'other', true],
      [Object.assign(new Error('refused'), { code: 'ECONNREFUSED', errno: -111 }), 'server-unavailable', true],
      [new TypeError('a bug in the caller'), 'other', true],
    ];
    for (const [err, kind, breaks] of cases) assert.deepEqual(classifyMysqlError(err), { kind, breaksConnection: breaks }, String((err as { code?: string }).code));
  });

  it('takes its max from connectionLimit (mysql2: 10)', () => {
    assert.equal(mysqlDriver({ connectionLimit: 3 }).maxConnections, 3);
    assert.equal(mysqlDriver({}).maxConnections, 10);
  });
});
