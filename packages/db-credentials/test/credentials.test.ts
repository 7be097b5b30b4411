import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { createDbCredentials, describeCredentials, sameLogin, withLifetime } from '../src/credentials.ts';
import { parseAgentFile } from '../src/agent-file-format.ts';
import { breaksConnection, isLoginRefused, isPermissionDenied } from '../src/drivers/postgres-errors.ts';
import pg from 'pg';

const SECRET = 'pw-Very-Secret-123';

describe('DbCredentials', () => {
  const creds = createDbCredentials({ username: 'v-app-1', password: SECRET, leaseId: 'database/creds/r/abc', leaseDuration: 4, renewable: true, expiresAt: new Date(5_000) });

  it('keeps the password readable but out of JSON, inspect and spreads', () => {
    assert.equal(creds.password, SECRET);
    assert.ok(!JSON.stringify(creds).includes(SECRET));
    assert.ok(!inspect(creds, { depth: 5 }).includes(SECRET));
    assert.ok(!Object.keys({ ...creds }).includes('password'));
    assert.ok(!JSON.stringify(describeCredentials(creds)).includes(SECRET));
  });

  it('is frozen', () => {
    assert.throws(() => {
      (creds as { username: string }).username = 'x';
    });
  });

  it('withLifetime keeps login and lease, changes the lifetime', () => {
    const renewed = withLifetime(creds, 8, new Date(9_000));
    assert.equal(renewed.password, SECRET);
    assert.equal(renewed.leaseId, creds.leaseId);
    assert.deepEqual([renewed.leaseDuration, renewed.expiresAt?.getTime()], [8, 9_000]);
    assert.ok(sameLogin(creds, renewed));
  });

  it('sameLogin compares user and password only', () => {
    const table: [string, string, boolean][] = [
      ['v-app-1', SECRET, true],
      ['v-app-2', SECRET, false],
      ['v-app-1', 'other', false],
    ];
    for (const [username, password, want] of table) {
      assert.equal(sameLogin(creds, createDbCredentials({ username, password })), want, `${username}`);
    }
  });
});

describe('parseAgentFile', () => {
  const good = { username: 'v-app-1', password: SECRET, lease_id: 'database/creds/r/abc', lease_duration: 60, renewable: true };
  const cases: { name: string; text: string; problem?: string; fields?: string[] }[] = [
    { name: 'empty file', text: '', problem: 'empty' },
    { name: 'whitespace only', text: ' \n', problem: 'empty' },
    { name: 'partial write', text: JSON.stringify(good).slice(0, 30), problem: 'invalid-json' },
    { name: 'missing password', text: JSON.stringify({ ...good, password: undefined }), problem: 'invalid-schema', fields: ['password'] },
    { name: 'negative duration', text: JSON.stringify({ ...good, lease_duration: -1 }), problem: 'invalid-schema', fields: ['lease_duration'] },
    { name: 'string duration', text: JSON.stringify({ ...good, lease_duration: '60' }), problem: 'invalid-schema', fields: ['lease_duration'] },
    { name: 'not an object', text: '[]', problem: 'invalid-schema', fields: ['(root)'] },
  ];
  for (const c of cases) {
    it(`rejects: ${c.name}`, () => {
      const got = parseAgentFile(c.text, 0);
      assert.equal(got.ok, false);
      if (got.ok) return;
      assert.equal(got.problem, c.problem);
      if (c.fields) assert.deepEqual(got.fields, c.fields);
      assert.ok(!JSON.stringify(got).includes(SECRET));
    });
  }

  it('uses issued_at for the expiry when rendered', () => {
    const got = parseAgentFile(JSON.stringify({ ...good, issued_at: 1_000 }), 999_999_999);
    assert.ok(got.ok);
    assert.equal(got.creds.expiresAt?.getTime(), (1_000 + 60) * 1000);
    assert.equal(got.creds.password, SECRET);
    assert.equal(got.creds.leaseId, good.lease_id);
  });

  it('falls back to the file mtime without issued_at', () => {
    const got = parseAgentFile(JSON.stringify(good), 50_000);
    assert.ok(got.ok);
    assert.equal(got.creds.expiresAt?.getTime(), 50_000 + 60_000);
  });

  it('has no expiry for a zero lease duration', () => {
    const got = parseAgentFile(JSON.stringify({ ...good, lease_duration: 0 }), 50_000);
    assert.ok(got.ok);
    assert.equal(got.creds.expiresAt, undefined);
  });
});

describe('pg error classification', () => {
  const dbError = (code: string): pg.DatabaseError => Object.assign(new pg.DatabaseError('x', 1, 'error'), { code });
  const cases: { code: string; login: boolean; denied: boolean; breaks: boolean }[] = [
    { code: '28P01', login: true, denied: false, breaks: false },
    { code: '28000', login: true, denied: false, breaks: false },
    { code: '42501', login: false, denied: true, breaks: false },
    { code: '42P01', login: false, denied: false, breaks: false },
    { code: '57P01', login: false, denied: false, breaks: true },
    { code: '08006', login: false, denied: false, breaks: true },
  ];
  for (const c of cases) {
    it(`SQLSTATE ${c.code}`, () => {
      const err = dbError(c.code);
      assert.deepEqual([isLoginRefused(err), isPermissionDenied(err), breaksConnection(err)], [c.login, c.denied, c.breaks]);
    });
  }
  it('a socket error breaks the connection and is no login refusal', () => {
    const err = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    assert.deepEqual([isLoginRefused(err), breaksConnection(err)], [false, true]);
  });
});
