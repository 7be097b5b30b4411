import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SecretSet, assertNoSecretsInLogs, scanLogs, scanProblem } from '../src/secret-scan.ts';

describe('secret scan', () => {
  const secrets = new SecretSet();
  secrets.add('db password', 'A1b2C3d4E5f6g7');
  secrets.add('vault token', 's.AbCdEfGhIjKlMnOpQrStUvWx');
  secrets.addKey('unseal key', Buffer.from('unseal-key-share-bytes').toString('base64'));
  secrets.addBytes('envelope key', Buffer.alloc(32, 7));
  secrets.add('too short', 'abc');

  it('tracks every form of a key and ignores values too short to mean anything', () => {
    assert.deepEqual(secrets.kinds(), { 'db password': 1, 'vault token': 1, 'unseal key': 2, 'envelope key': 3 });
  });

  it('passes clean, non-empty logs', () => {
    const report = assertNoSecretsInLogs([{ name: 'a.log', text: '{"msg":"rotated","username":"v-token-x"}' }], secrets);
    assert.equal(report.logs, 1);
  });

  it('fails a leak, naming the log and the kind, never the value', () => {
    const hex = Buffer.from('unseal-key-share-bytes').toString('hex');
    const report = scanLogs([{ name: 'bao.log', text: `share ${hex}` }, { name: 'api.log', text: 'pw=A1b2C3d4E5f6g7' }], secrets);
    assert.deepEqual(report.leaks, ['bao.log: unseal key', 'api.log: db password']);
    const problem = scanProblem(report) ?? '';
    assert.match(problem, /bao\.log: unseal key/);
    assert.ok(!problem.includes(hex) && !problem.includes('A1b2C3d4E5f6g7'));
  });

  it('fails an empty log, no logs at all, and nothing to look for', () => {
    assert.throws(() => assertNoSecretsInLogs([{ name: 'etcd.log', text: '  \n' }], secrets), /empty logs.*etcd\.log/);
    assert.throws(() => assertNoSecretsInLogs([], secrets), /no logs/);
    assert.throws(() => assertNoSecretsInLogs([{ name: 'x.log', text: 'x' }], new SecretSet()), /no secrets/);
  });

  it('fails token shapes it was never told about', () => {
    const jwt = `eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.sig`;
    assert.deepEqual(scanLogs([{ name: 'k.log', text: `Authorization: Bearer ${jwt}` }], secrets).shapes, ['k.log: JWT']);
    assert.deepEqual(scanLogs([{ name: 'b.log', text: 'token s.ZZZZZZZZZZZZZZZZZZZZZZZZZZ' }], secrets).shapes, ['b.log: Vault token']);
    assert.deepEqual(scanLogs([{ name: 'b.log', text: 'status.ZZZZZZZZZZZZZZZZZZZZZZZZZZ lease database/creds/r/AbCdEfGhIjKlMnOpQrStUvWx' }], secrets).shapes, []);
  });
});
