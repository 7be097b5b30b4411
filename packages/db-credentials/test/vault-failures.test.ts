import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VaultError, VaultErrorCode } from '@rotor/vault-client';
import { classifyLeaseFailure, nextStepAfterRenewalFailure, type LeaseFailure } from '../src/vault-failures.ts';
import { describeLogin } from '../src/vault-login.ts';

describe('classifyLeaseFailure and the step after a failed renewal', () => {
  const cases: [code: VaultErrorCode | undefined, failure: LeaseFailure, step: 'retry' | 'reissue' | 'relogin'][] = [
    [VaultErrorCode.NETWORK, 'unreachable', 'retry'],
    [VaultErrorCode.TIMEOUT, 'unreachable', 'retry'],
    [VaultErrorCode.SEALED, 'unreachable', 'retry'],
    [VaultErrorCode.UNAVAILABLE, 'unreachable', 'retry'],
    [VaultErrorCode.RATE_LIMITED, 'unreachable', 'retry'],
    [VaultErrorCode.PERMISSION_DENIED, 'denied', 'relogin'],
    [VaultErrorCode.BAD_REQUEST, 'lease-invalid', 'reissue'],
    [VaultErrorCode.NOT_FOUND, 'lease-invalid', 'reissue'],
    [VaultErrorCode.INVALID_RESPONSE, 'other', 'retry'],
    [undefined, 'other', 'retry'],
  ];
  for (const [code, failure, step] of cases) {
    it(`${code ?? 'a non-Vault error'} -> ${failure} -> ${step}`, () => {
      const err = code === undefined ? new Error('boom') : new VaultError(code, 'x', { method: 'PUT', path: 'sys/leases/renew' });
      assert.equal(classifyLeaseFailure(err), failure);
      assert.equal(nextStepAfterRenewalFailure(failure), step);
    });
  }
});

describe('describeLogin', () => {
  it('never includes a token, secret id or JWT path content', () => {
    const described = JSON.stringify([
      describeLogin({ method: 'token', token: 's.secret-token' }),
      describeLogin({ method: 'approle', roleId: 'role-id-1', secretId: 'secret-id-1' }),
      describeLogin({ method: 'kubernetes', role: 'app-creds-reader-role' }),
    ]);
    for (const secret of ['s.secret-token', 'secret-id-1']) assert.ok(!described.includes(secret));
    assert.match(described, /app-creds-reader-role/);
  });
});
