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
import { createServer as createHttpServer } from 'node:http';
import { VaultClient, VaultErrorCode, isCertificateError, isVaultError } from '../src/index.ts';

const run = promisify(execFile);

describe('VaultClient with caCert', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-vault-tls-'));
  let server: Server;
  let address: string;
  let ca: string;
  const seen: { url: string; token: string | undefined; body: string }[] = [];

  before(async () => {
    const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ]);
    ca = readFileSync(cert, 'utf8');
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
    await client.request('PUT', 'sys/policies/acl/p', { body: { policy: 'path "x" {}' } });
    assert.deepEqual(seen.at(-1), { url: '/v1/sys/policies/acl/p', token: 'tls-token', body: '{"policy":"path \\"x\\" {}"}' });
    await assert.rejects(client.sys.listMounts(), (err: unknown) => {
      assert.ok(isVaultError(err));
      assert.deepEqual([err.code, err.status, err.errors], [VaultErrorCode.PERMISSION_DENIED, 403, ['permission denied']]);
      return true;
    });
  });

  it('refuses the server without the CA: VAULT_NETWORK naming the untrusted certificate, not retried', async () => {
    const client = new VaultClient({ address, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 } });
    await assert.rejects(client.sys.sealStatus(), (err: unknown) => {
      assert.ok(isVaultError(err) && isCertificateError(err));
      assert.equal(err.code, VaultErrorCode.NETWORK);
      assert.equal(err.attempts, 1, 'a wrong CA does not fix itself: no retry');
      assert.equal(err.message, `GET sys/seal-status: the TLS certificate of ${new URL(address).host} is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT): no CA given, system roots used`);
      return true;
    });
  });

  it('refuses the server with another CA, saying the CA given did not sign it', async () => {
    const other = join(dir, 'other.pem');
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'other.key'), '-out', other, '-days', '1', '-subj', '/CN=other-ca']);
    const client = new VaultClient({ address, caCert: readFileSync(other, 'utf8'), retry: { attempts: 1 } });
    await assert.rejects(client.sys.sealStatus(), /the TLS certificate of 127\.0\.0\.1:\d+ is not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\): the CA given did not sign it/);
  });

  it('a CA applies to https only: an http address is reached with the CA set (as Vault\'s CLI does)', async () => {
    const plain = createHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"plain":true}'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const client = new VaultClient({ address: `http://127.0.0.1:${(plain.address() as AddressInfo).port}`, caCert: ca, retry: { attempts: 1 } });
      assert.deepEqual(await client.exchange('GET', 'sys/seal-status'), { status: 200, body: { plain: true } });
    } finally {
      plain.closeAllConnections();
      await new Promise<void>((resolve) => plain.close(() => resolve()));
    }
  });
});
