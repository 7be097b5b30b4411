import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VaultError, VaultErrorCode } from '../src/errors.ts';
import { networkErrorCode, retryAfterMs, retryDelayMs, shouldRetry } from '../src/retry.ts';
import type { RetryPolicy } from '../src/retry.ts';

const policy: RetryPolicy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 1_000 };

describe('retryAfterMs', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  const cases: [header: string | null, expected: number | undefined][] = [
    [null, undefined],
    ['', undefined],
    ['3', 3_000],
    [' 0 ', 0],
    ['Wed, 01 Jan 2025 00:00:10 GMT', 10_000],
    ['Tue, 31 Dec 2024 23:59:00 GMT', 0], // in the past
    ['soon', undefined],
    ['-1', undefined],
  ];
  for (const [header, expected] of cases) {
    it(`${JSON.stringify(header)} -> ${expected}`, () => {
      assert.equal(retryAfterMs(header, now), expected);
    });
  }
});

describe('retryDelayMs', () => {
  it('prefers Retry-After over backoff', () => {
    assert.equal(retryDelayMs(0, policy, 0.5, 300), 300);
  });
  it('caps Retry-After at maxDelayMs', () => {
    assert.equal(retryDelayMs(0, policy, 0.5, 3_600_000), 1_000);
  });
  it('falls back to jittered backoff', () => {
    assert.equal(retryDelayMs(2, policy, 0.25, undefined), 100);
  });
});

describe('networkErrorCode', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  const cases: [name: string, err: unknown, expected: string | undefined][] = [
    ['direct code', refused, 'ECONNREFUSED'],
    ['fetch failed with a cause', new TypeError('fetch failed', { cause: refused }), 'ECONNREFUSED'],
    ['aggregate of addresses', new TypeError('fetch failed', { cause: new AggregateError([refused]) }), 'ECONNREFUSED'],
    ['no code', new Error('boom'), undefined],
    ['not an error', 'ECONNREFUSED', undefined],
  ];
  for (const [name, err, expected] of cases) {
    it(name, () => assert.equal(networkErrorCode(err), expected));
  }
});

describe('shouldRetry', () => {
  const err = (code: VaultErrorCode, status?: number, cause?: unknown): VaultError =>
    new VaultError(code, 'x', { method: 'GET', path: 'p', ...(status === undefined ? {} : { status }), cause });
  const refused = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
  const reset = Object.assign(new Error('reset'), { code: 'ECONNRESET' });
  const cases: [name: string, error: VaultError, idempotent: boolean, nonIdempotent: boolean][] = [
    ['503 sealed', err(VaultErrorCode.SEALED, 503), true, true],
    ['503 unavailable', err(VaultErrorCode.UNAVAILABLE, 503), true, true],
    ['429 rate limited', err(VaultErrorCode.RATE_LIMITED, 429), true, true],
    ['500', err(VaultErrorCode.HTTP, 500), true, false],
    ['502', err(VaultErrorCode.HTTP, 502), true, false],
    ['501 not implemented', err(VaultErrorCode.HTTP, 501), false, false],
    ['timeout', err(VaultErrorCode.TIMEOUT), true, false],
    ['connection refused', err(VaultErrorCode.NETWORK, undefined, refused), true, true],
    ['connection reset', err(VaultErrorCode.NETWORK, undefined, reset), true, false],
    ['400', err(VaultErrorCode.BAD_REQUEST, 400), false, false],
    ['403', err(VaultErrorCode.PERMISSION_DENIED, 403), false, false],
    ['404', err(VaultErrorCode.NOT_FOUND, 404), false, false],
    ['invalid response', err(VaultErrorCode.INVALID_RESPONSE, 200), false, false],
    ['aborted', err(VaultErrorCode.ABORTED), false, false],
  ];
  for (const [name, error, idempotent, nonIdempotent] of cases) {
    it(`${name}: idempotent ${idempotent}, non-idempotent ${nonIdempotent}`, () => {
      assert.equal(shouldRetry(error, true), idempotent);
      assert.equal(shouldRetry(error, false), nonIdempotent);
    });
  }
});
