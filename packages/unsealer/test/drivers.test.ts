import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { VaultError } from '@rotor/vault-client';
import {
  FileKeyStore,
  StaticDiscovery,
  UnsealKeys,
  keyRejection,
  openEnvelope,
  parseEnvelopeKey,
  podTargets,
  probeState,
  sealEnvelope,
} from '../src/index.ts';

const SECRET_KEYS = ['c2hhcmUtb25lLXNlY3JldA==', 'c2hhcmUtdHdvLXNlY3JldA==', 'c2hhcmUtdGhyZWUtc2VjcmV0'];
const ROOT = 's.root-token-secret';
const keys = new UnsealKeys({ keys: SECRET_KEYS, threshold: 2, rootToken: ROOT });

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-unsealer-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('UnsealKeys', () => {
  it('shows counts, never keys or token, in JSON and inspect', () => {
    for (const text of [JSON.stringify(keys), inspect(keys), JSON.stringify({ nested: keys })]) {
      for (const secret of [...SECRET_KEYS, ROOT]) assert.ok(!text.includes(secret), text);
      assert.match(text, /3/);
    }
    assert.equal(keys.withoutRootToken().rootToken, undefined);
  });

  const invalid: [string, { keys: string[]; threshold: number }][] = [
    ['no shares', { keys: [], threshold: 1 }],
    ['threshold above shares', { keys: ['a'], threshold: 2 }],
    ['threshold zero', { keys: ['a'], threshold: 0 }],
  ];
  for (const [name, input] of invalid) {
    it(`rejects ${name}`, () => assert.throws(() => new UnsealKeys(input), { code: 'UNSEALER_KEY_FORMAT' }));
  }
});

describe('envelope encryption', () => {
  const key = Buffer.alloc(32, 7);
  it('round-trips, and the sealed bytes do not contain the plaintext', () => {
    const plain = Buffer.from(JSON.stringify({ keys: SECRET_KEYS }));
    const sealed = sealEnvelope(plain, key);
    assert.ok(!sealed.toString().includes(SECRET_KEYS[0]!));
    assert.deepEqual(openEnvelope(sealed, key, 'test'), plain);
  });
  it('is deterministic for a given iv (pure)', () => {
    const iv = Buffer.alloc(12, 1);
    assert.deepEqual(sealEnvelope(Buffer.from('x'), key, iv), sealEnvelope(Buffer.from('x'), key, iv));
  });
  const failures: [string, () => Buffer][] = [
    ['a wrong key', () => openEnvelope(sealEnvelope(Buffer.from('x'), key), Buffer.alloc(32, 8), 'test')],
    ['tampered data', () => {
      const env = JSON.parse(sealEnvelope(Buffer.from('secret'), key).toString()) as { data: string };
      env.data = Buffer.from('other!').toString('base64');
      return openEnvelope(Buffer.from(JSON.stringify(env)), key, 'test');
    }],
    ['plaintext instead of an envelope', () => openEnvelope(Buffer.from('{"version":1}'), key, 'test')],
  ];
  for (const [name, run] of failures) {
    it(`fails with a coded error on ${name}, without echoing data`, () => {
      assert.throws(run, (err: Error & { code?: string }) => err.code === 'UNSEALER_KEY_FORMAT' && !err.message.includes('secret'));
    });
  }
  const keyForms: [string, Buffer, boolean][] = [
    ['raw 32 bytes', Buffer.alloc(32, 1), true],
    ['base64 with newline', Buffer.from(`${Buffer.alloc(32, 2).toString('base64')}\n`), true],
    ['hex', Buffer.from(Buffer.alloc(32, 3).toString('hex')), true],
    ['16 bytes', Buffer.alloc(16, 1), false],
    ['text', Buffer.from('password'), false],
  ];
  for (const [name, content, ok] of keyForms) {
    it(`envelope key as ${name}: ${ok ? 'accepted' : 'rejected'}`, () => {
      if (ok) assert.equal(parseEnvelopeKey(content, 'k').length, 32);
      else assert.throws(() => parseEnvelopeKey(content, 'k'), { code: 'UNSEALER_CONFIG' });
    });
  }
});

describe('FileKeyStore', () => {
  it('is empty, then stores with mode 0600, then refuses to overwrite', async (t) => {
    const path = join(tempDir(t), 'keys.json');
    const store = new FileKeyStore(path);
    assert.equal(await store.load(), undefined);
    await store.save(keys);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const loaded = await store.load();
    assert.deepEqual([loaded?.keys, loaded?.threshold, loaded?.rootToken], [SECRET_KEYS, 2, ROOT]);
    await assert.rejects(store.save(new UnsealKeys({ keys: ['b3RoZXI='], threshold: 1 })), { code: 'UNSEALER_KEYS_EXIST' });
    assert.deepEqual((await store.load())?.keys, SECRET_KEYS);
  });
  it('encrypts with an envelope key; the wrong key cannot read it', async (t) => {
    const path = join(tempDir(t), 'keys.json');
    await new FileKeyStore(path, { envelopeKey: Buffer.alloc(32, 9) }).save(keys);
    assert.deepEqual((await new FileKeyStore(path, { envelopeKey: Buffer.alloc(32, 9) }).load())?.keys, SECRET_KEYS);
    await assert.rejects(new FileKeyStore(path, { envelopeKey: Buffer.alloc(32, 1) }).load(), { code: 'UNSEALER_KEY_FORMAT' });
    await assert.rejects(new FileKeyStore(path).load(), { code: 'UNSEALER_KEY_FORMAT' });
  });
  it('reports a missing directory as a store error, leaving no file behind', async (t) => {
    const store = new FileKeyStore(join(tempDir(t), 'missing', 'keys.json'));
    await assert.rejects(store.save(keys), (err: Error & { code?: string }) => err.code === 'UNSEALER_KEY_STORE' && /ENOENT/.test(err.message));
  });
  it('rejects a file of the wrong shape without echoing it', async (t) => {
    const path = join(tempDir(t), 'keys.json');
    writeFileSync(path, JSON.stringify({ version: 1, threshold: 1, keys: [ROOT], extra: true }));
    await assert.rejects(new FileKeyStore(path).load(), (err: Error & { code?: string }) => err.code === 'UNSEALER_KEY_FORMAT' && !err.message.includes(ROOT));
  });
});

describe('discovery', () => {
  const pod = (name: string, ip: string | undefined, phase = 'Running', deleting = false): V1Pod => ({
    metadata: { name, ...(deleting ? { deletionTimestamp: new Date(0) } : {}) },
    status: { phase, ...(ip ? { podIP: ip } : {}) },
  });
  it('selects running, addressed, not-deleting pods by pod IP, sorted by name', () => {
    const pods = [pod('vault-2', '10.0.0.3'), pod('vault-0', '10.0.0.1'), pod('vault-1', undefined, 'Pending'), pod('vault-3', '10.0.0.4', 'Running', true), pod('vault-4', 'fd00::5')];
    assert.deepEqual(podTargets(pods, { scheme: 'https', port: 8200 }), [
      { id: 'vault-0', address: 'https://10.0.0.1:8200' },
      { id: 'vault-2', address: 'https://10.0.0.3:8200' },
      { id: 'vault-4', address: 'https://[fd00::5]:8200' },
    ]);
  });
  it('with dnsService: the same pods by their stable names, which a TLS certificate can hold', () => {
    const named = (name: string, ip: string | undefined): V1Pod => ({ metadata: { name, namespace: 'vault' }, status: { phase: 'Running', ...(ip ? { podIP: ip } : {}) } });
    assert.deepEqual(podTargets([named('vault-1', '10.0.0.2'), named('vault-0', '10.0.0.1'), named('vault-2', undefined)], { scheme: 'https', port: 8200, dnsService: 'vault-internal' }), [
      { id: 'vault-0', address: 'https://vault-0.vault-internal.vault.svc:8200' },
      { id: 'vault-1', address: 'https://vault-1.vault-internal.vault.svc:8200' },
    ]);
  });
  it('static list: origins as ids; bad or duplicate addresses are config errors', async () => {
    assert.deepEqual(await new StaticDiscovery(['http://127.0.0.2:8200/', 'https://v:1']).list(), [
      { id: 'http://127.0.0.2:8200', address: 'http://127.0.0.2:8200' },
      { id: 'https://v:1', address: 'https://v:1' },
    ]);
    for (const bad of [[], ['nope'], ['ftp://x:1'], ['http://x:1/v1'], ['http://x:1', 'http://x:1/']]) {
      assert.throws(() => new StaticDiscovery(bad), { code: 'UNSEALER_CONFIG' });
    }
  });
});

describe('probeState and keyRejection', () => {
  it('maps seal status to a probe state', () => {
    assert.equal(probeState(undefined), 'down');
    assert.equal(probeState({ initialized: false, sealed: true }), 'uninitialized');
    assert.equal(probeState({ initialized: true, sealed: true }), 'sealed');
    assert.equal(probeState({ initialized: true, sealed: false }), 'unsealed');
  });
  const err = (status: number, message: string) => new VaultError('VAULT_HTTP', 'x', { method: 'PUT', path: 'sys/unseal', status, errors: [message] });
  const table: [string, unknown, boolean][] = [
    ['member, wrong keys', err(400, 'unable to retrieve stored keys: invalid key: failed to decrypt keys from storage: cipher: message authentication failed'), true],
    ['joining node, wrong keys', err(500, 'error decrypting challenge: cipher: message authentication failed'), true],
    ['malformed share', err(400, 'invalid key: key is shorter than minimum 16 bytes'), true],
    ['node restarted, uninitialized', err(400, 'Vault is not initialized'), false],
    ['network failure', new VaultError('VAULT_NETWORK', 'x', { method: 'PUT', path: 'sys/unseal' }), false],
    ['not a Vault error', new Error('cipher: message authentication failed'), false],
  ];
  for (const [name, e, rejected] of table) it(`${name}: ${rejected ? 'rejection' : 'not a rejection'}`, () => assert.equal(keyRejection(e) !== undefined, rejected));
});
