import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VaultError, VaultErrorCode, codeForStatus, httpError, isVaultError } from '../src/errors.ts';

describe('codeForStatus', () => {
  const cases: [status: number, errors: string[], code: VaultErrorCode][] = [
    [400, ['missing role'], VaultErrorCode.BAD_REQUEST],
    [403, ['permission denied'], VaultErrorCode.PERMISSION_DENIED],
    [404, [], VaultErrorCode.NOT_FOUND],
    [429, [], VaultErrorCode.RATE_LIMITED],
    [500, ['internal error'], VaultErrorCode.HTTP],
    [502, [], VaultErrorCode.HTTP],
    [503, ['Vault is sealed'], VaultErrorCode.SEALED],
    [503, ['error performing token check: Vault is sealed'], VaultErrorCode.SEALED],
    [503, ['local node not active but active cluster node not found'], VaultErrorCode.UNAVAILABLE],
    [503, ['unsealing'], VaultErrorCode.UNAVAILABLE],
    [418, [], VaultErrorCode.HTTP],
  ];
  for (const [status, errors, code] of cases) {
    it(`${status} ${JSON.stringify(errors)} -> ${code}`, () => assert.equal(codeForStatus(status, errors), code));
  }
});

describe('VaultError', () => {
  it('carries method, path, status and Vault errors in fields and message', () => {
    const err = httpError('PUT', 'sys/policies/acl/app', 400, ['failed to parse policy', 'line 1']);
    assert.ok(isVaultError(err));
    assert.ok(err instanceof Error);
    assert.deepEqual(
      [err.name, err.code, err.method, err.path, err.status, err.errors, err.attempts],
      ['VaultError', 'VAULT_BAD_REQUEST', 'PUT', 'sys/policies/acl/app', 400, ['failed to parse policy', 'line 1'], 1],
    );
    assert.equal(err.message, 'PUT sys/policies/acl/app failed with status 400: failed to parse policy; line 1');
  });

  it('is told apart from other errors', () => {
    assert.equal(isVaultError(new Error('x')), false);
    assert.equal(isVaultError({ code: 'VAULT_HTTP' }), false);
    assert.equal(isVaultError(new VaultError(VaultErrorCode.TIMEOUT, 't', { method: 'GET', path: 'p' })), true);
  });
});
