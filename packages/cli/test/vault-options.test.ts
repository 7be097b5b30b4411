import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError } from '../src/exit-codes.ts';
import { caCertOf, vaultAddressOf, vaultClient } from '../src/vault-options.ts';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('vault options', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-vault-options-'));
  const a = join(dir, 'a.pem');
  const b = join(dir, 'b.pem');
  writeFileSync(a, PEM);
  writeFileSync(b, PEM.replace('MIIB', 'MIIC'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('address: flag, then VAULT_ADDR, then BAO_ADDR; trailing slashes go', () => {
    assert.equal(vaultAddressOf({ address: 'https://x:8200/' }, { VAULT_ADDR: 'https://y:8200' }), 'https://x:8200');
    assert.equal(vaultAddressOf({}, { VAULT_ADDR: 'https://y:8200', BAO_ADDR: 'https://z:8200' }), 'https://y:8200');
    assert.equal(vaultAddressOf({}, { BAO_ADDR: 'https://z:8200' }), 'https://z:8200');
    assert.throws(() => vaultAddressOf({}, {}), (err: unknown) => err instanceof CliError && err.exitCode === 2);
    assert.throws(() => vaultAddressOf({ address: 'vault:8200' }, {}), /http\(s\)/);
  });

  it('CA: --ca-cert, then VAULT_CACERT, then BAO_CACERT', () => {
    assert.equal(caCertOf({ caCert: a }, { VAULT_CACERT: b }), PEM);
    assert.match(caCertOf({}, { VAULT_CACERT: b, BAO_CACERT: a }) ?? '', /MIIC/);
    assert.equal(caCertOf({}, { BAO_CACERT: a }), PEM);
    assert.equal(caCertOf({}, {}), undefined);
  });

  it('token: --token-file, then VAULT_TOKEN, then BAO_TOKEN, then ~/.vault-token', () => {
    const home = mkdtempSync(join(tmpdir(), 'rotor-home-'));
    try {
      assert.throws(() => vaultClient({}, { VAULT_ADDR: 'http://v:8200', HOME: home }), /no Vault token/);
      writeFileSync(join(home, '.vault-token'), 'from-helper\n');
      assert.equal(vaultClient({}, { VAULT_ADDR: 'http://v:8200', HOME: home }).hasToken, true);
      assert.throws(() => vaultClient({ tokenFile: join(home, 'missing') }, { VAULT_ADDR: 'http://v:8200', VAULT_TOKEN: 't' }), /cannot read --token-file/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
