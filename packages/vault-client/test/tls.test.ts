// caCert: https through undici trusting a given CA, against a local https
// server with a freshly made self-signed certificate.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { VaultClient, VaultErrorCode, isVaultError } from '../src/index.ts';

const run = promisify(execFile);

describe('VaultClient with caCert', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-vault-tls-'));
  let server: Server;
  let address: string;
  let ca: string;
  let otherCa: string;
  const seen: { url: string; token: string | undefined; body: string }[] = [];

  before(async () => {
    const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ]);
    ca = readFileSync(cert, 'utf8');
    const otherCert = join(dir, 'other.pem');
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'other-key.pem'), '-out', otherCert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ]);
    otherCa = readFileSync(otherCert, 'utf8');
    server = createServer({ key: readFileSync(key), cert: ca }, (req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push({ url: req.url ?? '', token: req.headers['x-vault-token'] as string | undefined, body });
        if (req.method === 'PUT') res.writeHead(204).end();
        else res.writeHead(403, { 'content-type': 'application/json' }).end('{"errors":["permission denied"]}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('trusts the given CA: sends token and body, reads 204 and error answers', async () => {
    const client = new VaultClient({ address, token: 'tls-token', caCert: ca, retry: { attempts: 1 } });
    await client.sys.writePolicy('p', 'path "x" {}');
    assert.deepEqual(seen.at(-1), { url: '/v1/sys/policies/acl/p', token: 'tls-token', body: '{"policy":"path \\"x\\" {}"}' });
    await assert.rejects(client.sys.listMounts(), (err: unknown) => {
      assert.ok(isVaultError(err));
      assert.deepEqual([err.code, err.status, err.errors], [VaultErrorCode.PERMISSION_DENIED, 403, ['permission denied']]);
      return true;
    });
  });

  it('trusts only the given CA: another one is a TLS failure (VAULT_NETWORK with its code)', async () => {
    const client = new VaultClient({ address, token: 'tls-token', caCert: otherCa, retry: { attempts: 1 } });
    const seenBefore = seen.length;
    await assert.rejects(client.sys.sealStatus(), (err: unknown) => {
      assert.ok(isVaultError(err));
      assert.equal(err.code, VaultErrorCode.NETWORK);
      assert.match(err.message, /network error \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)\)/);
      return true;
    });
    assert.equal(seen.length, seenBefore, 'no request reached the server');
  });

  it('refuses the server without the CA (VAULT_NETWORK, not retried forever)', async () => {
    const client = new VaultClient({ address, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 5 } });
    await assert.rejects(client.sys.sealStatus(), (err: unknown) => isVaultError(err) && err.code === VaultErrorCode.NETWORK);
  });
});
