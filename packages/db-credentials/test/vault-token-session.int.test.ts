// VaultTokenSession against a real OpenBao (dev): login, renewal, re-login at the
// token's max TTL, and stop() revoking the token a login minted.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VaultClient, VaultErrorCode, isVaultError } from '@rotor/vault-client';
import { startOpenBao, type OpenBaoDevServer } from '@rotor/testbed';
import { isDbCredentialsError } from '../src/errors.ts';
import { DEFAULT_BACKOFF, DEFAULT_RENEWAL } from '../src/timing.ts';
import type { LeaseFailure } from '../src/vault-failures.ts';
import { VaultTokenSession } from '../src/vault-token-session.ts';
import { assertNoSecrets, captureLogs, setUpAppRole, timerCount, until } from './fixtures.ts';

describe('VaultTokenSession (real OpenBao)', { timeout: 120_000 }, () => {
  let bao: OpenBaoDevServer;
  let root: VaultClient;

  before(async () => {
    bao = await startOpenBao({ mode: 'dev' });
    root = new VaultClient({ address: bao.address, token: bao.rootToken });
  });
  after(async () => {
    await bao?.stop();
  });

  it('renews its token, logs in again at the max TTL, and revokes the token on stop', async () => {
    const timersBefore = timerCount();
    const approle = await setUpAppRole(root, 'session', '3s', '6s');
    const logs = captureLogs();
    const failures: string[] = [];
    let relogins = 0;
    const session = new VaultTokenSession({
      vault: new VaultClient({ address: bao.address }),
      login: { method: 'approle', ...approle },
      log: logs.logger,
      renewal: DEFAULT_RENEWAL,
      backoff: DEFAULT_BACKOFF,
      now: Date.now,
      random: Math.random,
      failed: (operation, err): LeaseFailure => {
        failures.push(`${operation}: ${String(err)}`);
        return 'other';
      },
      afterRelogin: () => {
        relogins++;
        return Promise.resolve();
      },
    });
    await session.start();
    const first = session.client;
    const firstAccessor = (await first.auth.lookupSelf()).accessor;
    session.keepAlive();
    await until('a renewal, then a re-login at the max TTL', () => relogins >= 1, 30_000);
    assert.match(logs.text(), /"msg":"renewed token"/);
    assert.match(logs.text(), /"msg":"token renewal truncated: logging in again"/);
    const current = session.client;
    assert.notEqual((await current.auth.lookupSelf()).accessor, firstAccessor, 'a new token after the re-login');

    await session.stop();
    const revoked = await current.auth.lookupSelf().catch((err: unknown) => err);
    assert.ok(isVaultError(revoked, VaultErrorCode.PERMISSION_DENIED), `the token is revoked: ${String(revoked)}`);
    await assert.rejects(session.stop(), (err) => isDbCredentialsError(err, 'DBCREDS_STOPPED'));
    assert.deepEqual(failures, []);
    await until('timers back to the baseline', () => timerCount() <= timersBefore, 10_000);
    assertNoSecrets(logs.text(), { 'approle secret id': [approle.secretId] });
  });

  it('a failed login leaves nothing running', async () => {
    const session = new VaultTokenSession({
      vault: new VaultClient({ address: bao.address, retry: { attempts: 1 } }),
      login: { method: 'approle', roleId: 'no-such-role', secretId: 'wrong' },
      log: captureLogs().logger,
      renewal: DEFAULT_RENEWAL,
      backoff: DEFAULT_BACKOFF,
      now: Date.now,
      random: Math.random,
      failed: () => 'other',
      afterRelogin: () => Promise.resolve(),
    });
    await assert.rejects(session.start(), (err) => isDbCredentialsError(err, 'DBCREDS_LOGIN'));
    assert.equal(session.running, false);
    assert.throws(() => session.client, (err) => isDbCredentialsError(err, 'DBCREDS_NOT_STARTED'));
  });
});
