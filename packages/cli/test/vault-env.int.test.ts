// How `rotor` finds Vault, against a real OpenBao serving TLS (`bao server
// -dev -dev-tls`, which makes its own CA): VAULT_ADDR / VAULT_CACERT /
// VAULT_TOKEN, their BAO_* twins, the --address / --ca-cert / --token-file
// flags (which win, as in Vault's CLI), and the ~/.vault-token token helper.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { freePort, openBaoBinary, ServerProcess, waitFor, vaultAdmin } from '@rotor/testbed';
import { VaultClient } from '@rotor/vault-client';
import type { StatusReport } from '../src/status/model.ts';
import { rotor } from './cli.ts';

interface TlsBao {
  address: string;
  caFile: string;
  token: string;
  stop(): Promise<void>;
}

function sealStatus(address: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${address}/v1/sys/seal-status`, { ca, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

async function startTlsBao(dir: string): Promise<TlsBao> {
  const port = await freePort('127.0.0.1');
  const token = `root-${randomBytes(12).toString('hex')}`;
  const certDir = join(dir, 'tls');
  mkdirSync(certDir);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir };
  const server = new ServerProcess({
    name: 'openbao dev-tls',
    command: openBaoBinary(),
    args: ['server', '-dev', '-dev-tls', `-dev-tls-cert-dir=${certDir}`, `-dev-root-token-id=${token}`, `-dev-listen-address=127.0.0.1:${port}`],
    logFile: join(dir, 'openbao.log'),
    env,
    cwd: dir,
  });
  const address = `https://127.0.0.1:${port}`;
  const caFile = join(certDir, 'vault-ca.pem');
  try {
    await waitFor('OpenBao to serve TLS', async () => ((await sealStatus(address, readFileSync(caFile, 'utf8')).catch(() => 0)) === 200 ? true : undefined), {
      timeoutMs: 30_000,
      signal: server.exitSignal,
    });
  } catch (err) {
    await server.stop();
    throw server.failure('did not serve TLS', err);
  }
  return { address, caFile, token, stop: () => server.stop() };
}

describe('rotor finds Vault like Vault\'s CLI (TLS OpenBao)', { timeout: 180_000 }, () => {
  let dir: string;
  let bao: TlsBao;
  let otherCa: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rotor-vault-env-'));
    bao = await startTlsBao(dir);
    await vaultAdmin.enableMount(new VaultClient({ address: bao.address, token: bao.token, caCert: readFileSync(bao.caFile, 'utf8') }), 'database', { type: 'database' });
    // A CA that did not sign the server's certificate.
    otherCa = join(dir, 'other-ca.pem');
    const otherDir = join(dir, 'other');
    mkdirSync(otherDir);
    const other = await startTlsBao(otherDir);
    writeFileSync(otherCa, readFileSync(other.caFile));
    await other.stop();
  });
  after(async () => {
    await bao?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** `rotor leases --no-db`: a token-authenticated read of the database mount. */
  const leases = (env: Record<string, string>, flags: string[] = []) => rotor(['leases', '--no-db', '--json', ...flags], env);

  it('VAULT_ADDR + VAULT_CACERT + VAULT_TOKEN', async () => {
    const run = await leases({ VAULT_ADDR: bao.address, VAULT_CACERT: bao.caFile, VAULT_TOKEN: bao.token });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual((JSON.parse(run.stdout) as { roles: string[] }).roles, []);
    assert.ok(!run.stdout.includes(bao.token) && !run.stderr.includes(bao.token));
  });

  it('without the CA the certificate is refused (exit 4), and so with the wrong one', async () => {
    const none = await leases({ VAULT_ADDR: bao.address, VAULT_TOKEN: bao.token });
    assert.equal(none.code, 4, none.stdout + none.stderr);
    assert.match(none.stderr, /UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    assert.match(none.stderr, /pass --ca-cert <file> or set VAULT_CACERT/);
    const wrong = await leases({ VAULT_ADDR: bao.address, VAULT_CACERT: otherCa, VAULT_TOKEN: bao.token });
    assert.equal(wrong.code, 4, wrong.stdout + wrong.stderr);
  });

  it('BAO_ADDR + BAO_CACERT + BAO_TOKEN (OpenBao\'s names)', async () => {
    const run = await leases({ BAO_ADDR: bao.address, BAO_CACERT: bao.caFile, BAO_TOKEN: bao.token });
    assert.equal(run.code, 0, run.stderr);
  });

  it('flags win over the environment: --address, --ca-cert, --token-file', async () => {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `${bao.token}\n`, { mode: 0o600 });
    const run = await leases({ VAULT_ADDR: 'https://127.0.0.1:9', VAULT_CACERT: otherCa, VAULT_TOKEN: 'wrong-token' }, ['--address', bao.address, '--ca-cert', bao.caFile, '--token-file', tokenFile]);
    assert.equal(run.code, 0, run.stderr);
    const refused = await leases({ VAULT_ADDR: bao.address, VAULT_CACERT: bao.caFile, VAULT_TOKEN: 'wrong-token' });
    assert.equal(refused.code, 4, 'the wrong token from the environment is used when no flag overrides it');
  });

  it('~/.vault-token, the token helper `vault login` writes, when VAULT_TOKEN is unset', async () => {
    const home = join(dir, 'home');
    mkdirSync(home);
    writeFileSync(join(home, '.vault-token'), bao.token, { mode: 0o600 });
    assert.equal((await leases({ HOME: home, VAULT_ADDR: bao.address, VAULT_CACERT: bao.caFile })).code, 0);
    const empty = join(dir, 'empty-home');
    mkdirSync(empty);
    const none = await leases({ HOME: empty, VAULT_ADDR: bao.address, VAULT_CACERT: bao.caFile });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no Vault token/);
  });

  it('an unreadable or non-PEM CA file is a usage error naming its source', async () => {
    const missing = await leases({ VAULT_ADDR: bao.address, VAULT_CACERT: join(dir, 'nope.pem'), VAULT_TOKEN: bao.token });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read VAULT_CACERT .*nope\.pem: ENOENT/);
    const notPem = join(dir, 'not.pem');
    writeFileSync(notPem, 'hello');
    const bad = await leases({ VAULT_ADDR: bao.address, VAULT_TOKEN: bao.token }, ['--ca-cert', notPem]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--ca-cert .*not\.pem holds no PEM certificate/);
  });

  it('rotor status over TLS: the node is reached with the CA, unreachable without', async () => {
    const ok = await rotor(['status', '--json'], { VAULT_ADDR: bao.address, VAULT_CACERT: bao.caFile, VAULT_TOKEN: bao.token });
    const report = JSON.parse(ok.stdout) as StatusReport;
    assert.equal(report.nodes[0]?.state, 'active', ok.stdout);
    const noCa = await rotor(['status', '--json'], { VAULT_ADDR: bao.address, VAULT_TOKEN: bao.token });
    assert.equal(noCa.code, 7);
    assert.equal((JSON.parse(noCa.stdout) as StatusReport).nodes[0]?.state, 'unreachable');
  });

  it('rotor unseal talks TLS to https nodes with VAULT_CACERT or --ca-cert', async () => {
    // The dev server is initialized but this key store is empty: reaching it gives the keys-missing alarm (4);
    // not reaching it leaves the node "unreachable" (5).
    const keys = (name: string): string => `file:${join(dir, name)}`;
    const withCa = await rotor(['unseal', '--nodes', bao.address, '--key-store', keys('a.json'), '--once', '--timeout', '5000'], { VAULT_CACERT: bao.caFile });
    assert.equal(withCa.code, 4, withCa.stdout + withCa.stderr);
    assert.match(withCa.stderr, /initialized but the key store is empty/);
    const flag = await rotor(['unseal', '--nodes', bao.address, '--key-store', keys('b.json'), '--once', '--timeout', '5000', '--ca-cert', bao.caFile]);
    assert.equal(flag.code, 4, flag.stdout + flag.stderr);
    const without = await rotor(['unseal', '--nodes', bao.address, '--key-store', keys('c.json'), '--once', '--timeout', '3000']);
    assert.equal(without.code, 5, without.stdout + without.stderr);
    assert.match(without.stderr, /still sealed or unreachable/);
  });

  it('rotor --version', async () => {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const run = await rotor([flag]);
      assert.equal(run.code, 0);
      assert.equal(run.stdout, `rotor ${manifest.version}\n`);
    }
  });
});
