import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VaultError, VaultErrorCode } from '../src/errors.ts';
import { classifyVaultFailure, type VaultFailure } from '../src/failures.ts';

describe('classifyVaultFailure', () => {
  const at = { method: 'GET', path: 'sys/seal-status' };
  const cases: [what: string, err: unknown, failure: VaultFailure][] = [
    ['a network error', new VaultError(VaultErrorCode.NETWORK, 'x', { ...at, cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) }), 'unreachable'],
    ['a refused certificate', new VaultError(VaultErrorCode.NETWORK, 'x', { ...at, cause: Object.assign(new Error('cert'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }) }), 'untrusted'],
    ['a timeout', new VaultError(VaultErrorCode.TIMEOUT, 'x', at), 'unreachable'],
    ['a sealed node', new VaultError(VaultErrorCode.SEALED, 'x', { ...at, status: 503 }), 'unreachable'],
    ['a standby without a leader', new VaultError(VaultErrorCode.UNAVAILABLE, 'x', { ...at, status: 503 }), 'unreachable'],
    ['a rate limit', new VaultError(VaultErrorCode.RATE_LIMITED, 'x', { ...at, status: 429 }), 'unreachable'],
    ['too many redirects', new VaultError(VaultErrorCode.REDIRECT, 'x', at), 'unreachable'],
    ['a 403', new VaultError(VaultErrorCode.PERMISSION_DENIED, 'x', { ...at, status: 403 }), 'denied'],
    ['a 400', new VaultError(VaultErrorCode.BAD_REQUEST, 'x', { ...at, status: 400 }), 'rejected'],
    ['a 404', new VaultError(VaultErrorCode.NOT_FOUND, 'x', { ...at, status: 404 }), 'rejected'],
    ['an unexpected answer', new VaultError(VaultErrorCode.INVALID_RESPONSE, 'x', at), 'other'],
    ['an error that is not Vault\'s', new Error('boom'), 'other'],
  ];
  for (const [what, err, failure] of cases) {
    it(`${what} -> ${failure}`, () => assert.equal(classifyVaultFailure(err), failure));
  }
});
