// `rotor tls issue`: the CA made once and reused, server certificates that OpenSSL and Node
// verify against it (and refuse against another CA), private keys 0600, usage errors.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { rotor } from './cli.ts';

const run = promisify(execFile);

/** Whether a TLS client trusting `ca` accepts a server with `cert`/`key` for `servername`. */
async function handshake(cert: string, key: string, ca: string, servername: string): Promise<string> {
  const server = createServer({ cert, key }, (_req, res) => res.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, ca, servername }, () => {
        socket.end();
        resolve('ok');
      });
      socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('rotor tls issue', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-tls-issue-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const caDir = join(dir, 'ca');
  const out = join(dir, 'out');

  it('makes the CA on first use and a server certificate for the names given; OpenSSL and Node verify it', async () => {
    const first = await rotor(['tls', 'issue', '--ca-dir', caDir, '--name', 'vault', '--out', out, '--dns', 'vault.vault.svc,*.vault-internal.vault.svc', '--ip', '127.0.0.1']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /new CA .*ca\.crt \(key .*ca\.key: keep it offline\)/);
    assert.match(first.stdout, /vault\.crt and .*vault\.key for vault\.vault\.svc, \*\.vault-internal\.vault\.svc, 127\.0\.0\.1, serial [0-9A-F]+, valid until /i);
    assert.equal(statSync(join(caDir, 'ca.key')).mode & 0o777, 0o600);
    assert.equal(statSync(join(out, 'vault.key')).mode & 0o777, 0o600);
    assert.doesNotMatch(first.stdout + first.stderr, /PRIVATE KEY/);

    const [caPem, certPem, keyPem] = [join(caDir, 'ca.crt'), join(out, 'vault.crt'), join(out, 'vault.key')].map((f) => readFileSync(f, 'utf8')) as [string, string, string];
    const ca = new X509Certificate(caPem);
    const cert = new X509Certificate(certPem);
    assert.ok(ca.ca && !cert.ca);
    assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey));
    assert.equal(cert.subjectAltName, 'DNS:vault.vault.svc, DNS:*.vault-internal.vault.svc, IP Address:127.0.0.1');
    const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
    assert.ok(days > 89 && days <= 90, `${days} days`);
    const verified = await run('openssl', ['verify', '-CAfile', join(caDir, 'ca.crt'), '-purpose', 'sslserver', join(out, 'vault.crt')]);
    assert.match(verified.stdout, /vault\.crt: OK/);
    assert.equal(await handshake(certPem, keyPem, caPem, 'vault-0.vault-internal.vault.svc'), 'ok');
    assert.equal(await handshake(certPem, keyPem, caPem, 'postgres.db.svc'), 'ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('reuses the CA: a renewal has a new key and serial under the same CA', async () => {
    const caBefore = readFileSync(join(caDir, 'ca.crt'), 'utf8');
    const [certBefore, keyBefore] = [readFileSync(join(out, 'vault.crt'), 'utf8'), readFileSync(join(out, 'vault.key'), 'utf8')];
    const again = await rotor(['tls', 'issue', '--ca-dir', caDir, '--name', 'vault', '--out', out, '--dns', 'vault.vault.svc', '--days', '30']);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stdout, /new CA/);
    assert.equal(readFileSync(join(caDir, 'ca.crt'), 'utf8'), caBefore);
    const [certPem, keyPem] = [readFileSync(join(out, 'vault.crt'), 'utf8'), readFileSync(join(out, 'vault.key'), 'utf8')];
    assert.notEqual(keyPem, keyBefore);
    assert.notEqual(new X509Certificate(certPem).serialNumber, new X509Certificate(certBefore).serialNumber);
    assert.equal(await handshake(certPem, keyPem, caBefore, 'vault.vault.svc'), 'ok');
  });

  it('a client trusting another CA refuses the certificate', async () => {
    const other = await rotor(['tls', 'issue', '--ca-dir', join(dir, 'other-ca'), '--name', 'x', '--out', join(dir, 'other'), '--dns', 'x']);
    assert.equal(other.code, 0, other.stderr);
    const [certPem, keyPem] = [readFileSync(join(out, 'vault.crt'), 'utf8'), readFileSync(join(out, 'vault.key'), 'utf8')];
    assert.equal(await handshake(certPem, keyPem, readFileSync(join(dir, 'other-ca', 'ca.crt'), 'utf8'), 'vault.vault.svc'), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('usage errors: no names, a name in --ip, half a CA', async () => {
    const none = await rotor(['tls', 'issue', '--ca-dir', caDir, '--name', 'v', '--out', out]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /give the names clients dial: --dns and\/or --ip/);
    const name = await rotor(['tls', 'issue', '--ca-dir', caDir, '--name', 'v', '--out', out, '--ip', 'vault.svc']);
    assert.equal(name.code, 2);
    assert.match(name.stderr, /--ip takes IP addresses, not vault\.svc \(names go to --dns\)/);
    const half = join(dir, 'half');
    mkdirSync(half);
    writeFileSync(join(half, 'ca.crt'), readFileSync(join(caDir, 'ca.crt')));
    const broken = await rotor(['tls', 'issue', '--ca-dir', half, '--name', 'v', '--out', out, '--dns', 'v']);
    assert.equal(broken.code, 2);
    assert.match(broken.stderr, /holds ca\.crt without ca\.key/);
  });
});
