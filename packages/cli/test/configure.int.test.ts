// `rotor configure` as a subprocess (the real bin launcher) against a dev
// OpenBao and PostgreSQL: output, exit codes, and that nothing is written
// when the file is invalid.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startOpenBao, startPostgres } from '@rotor/testbed';
import type { OpenBaoDevServer, PostgresServer } from '@rotor/testbed';
import { VaultClient } from '@rotor/vault-client';
import { ExitCode } from '../src/index.ts';

const BIN = fileURLToPath(new URL('../bin/rotor.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function rotor(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

function configText(db: PostgresServer): string {
  return `policies:
  - name: reader
    rules: |
      path "database/creds/reader" { capabilities = ["read"] }
secrets:
  - path: database
    type: database
    connections:
      - name: postgres
        plugin_name: postgresql-database-plugin
        connection_url: ${db.vaultConnectionUrl()}
        allowed_roles: [reader]
        username: ${db.superuser}
        password: { fromEnv: PG_ROOT_PASSWORD }
        rotate_root: true
    roles:
      - name: reader
        db_name: postgres
        creation_statements: ['CREATE ROLE "{{name}}" WITH LOGIN PASSWORD ''{{password}}'' VALID UNTIL ''{{expiration}}'';']
        default_ttl: 1h
`;
}

describe('rotor configure (subprocess)', { timeout: 240_000 }, () => {
  let db: PostgresServer;
  let bao: OpenBaoDevServer;
  let dir: string;
  let file: string;
  let env: Record<string, string>;

  before(async () => {
    [db, bao] = await Promise.all([startPostgres(), startOpenBao({ mode: 'dev' })]);
    dir = mkdtempSync(join(tmpdir(), 'rotor-cli-'));
    file = join(dir, 'vault.yaml');
    writeFileSync(file, configText(db));
    env = { VAULT_ADDR: bao.address, VAULT_TOKEN: bao.rootToken, PG_ROOT_PASSWORD: db.superuserPassword };
  });
  after(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await Promise.all([db?.stop(), bao?.stop()]);
  });

  const noSecrets = (run: Run): void => {
    for (const secret of [db.superuserPassword, bao.rootToken]) {
      assert.equal(`${run.stdout}${run.stderr}`.includes(secret), false, 'a secret reached the output');
    }
  };

  it('rejects an invalid file with file:line:col, exit 3, no stack and no write', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, configText(db).replace('default_ttl: 1h', 'default_ttl: 1 hour').replace('password: { fromEnv: PG_ROOT_PASSWORD }', 'password: hunter2'));
    const run = await rotor(['configure', 'apply', '-c', bad], env);
    assert.equal(run.code, ExitCode.INVALID_CONFIG);
    assert.match(run.stderr, new RegExp(`${bad}:14:19: plaintext secrets are not allowed`));
    assert.match(run.stderr, new RegExp(`${bad}:20:22: a duration like`));
    assert.doesNotMatch(run.stderr, /\n\s+at /);
    const mounts = await new VaultClient({ address: bao.address, token: bao.rootToken }).sys.listMounts();
    assert.equal(mounts.some((m) => m.path === 'database'), false);
  });

  it('plans the creation on an empty server without colour or secrets when piped', async () => {
    const run = await rotor(['configure', 'plan', '-c', file], env);
    assert.equal(run.code, ExitCode.OK, run.stderr);
    assert.match(run.stdout, /^\+ create +sys\/policies\/acl\/reader$/m);
    assert.match(run.stdout, /password: \(secret, from env PG_ROOT_PASSWORD\)/);
    assert.match(run.stdout, /Plan: 4 to create, 0 to update, 0 to rotate, 0 to delete, 0 unchanged; 6 write request\(s\)\./);
    assert.equal(run.stdout.includes('\u001b['), false);
    noSecrets(run);
    const json = await rotor(['configure', 'plan', '-c', file, '--json'], env);
    assert.equal(json.code, ExitCode.OK, json.stderr);
    const parsed = JSON.parse(json.stdout) as { summary: { create: number; writes: number } };
    assert.deepEqual([parsed.summary.create, parsed.summary.writes], [4, 6]);
    noSecrets(json);
  });

  it('applies, then plans no change', async () => {
    const apply = await rotor(['configure', 'apply', '-c', file], env);
    assert.equal(apply.code, ExitCode.OK, apply.stderr);
    assert.match(apply.stdout, /done: POST database\/rotate-root\/postgres/);
    assert.match(apply.stdout, /Applied: 6 write request\(s\)\./);
    noSecrets(apply);
    const plan = await rotor(['configure', 'plan', '-c', file], env);
    assert.equal(plan.code, ExitCode.OK, plan.stderr);
    assert.match(plan.stdout, /^No changes: Vault matches the configuration \(4 resources\)\./m);
    const again = await rotor(['configure', 'apply', '-c', file, '--json'], env);
    assert.equal(again.code, ExitCode.OK, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { applied: number }).applied, 0);
  });

  it('exits 4 with a clear message when Vault refuses the token', async () => {
    const run = await rotor(['configure', 'plan', '-c', file], { ...env, VAULT_TOKEN: 'not-a-token' });
    assert.equal(run.code, ExitCode.VAULT);
    assert.match(run.stderr, /^rotor: reading .* failed: .*403/m);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  });

  it('exits 2 on usage errors', async () => {
    assert.equal((await rotor(['configure', 'plan'], env)).code, ExitCode.USAGE);
    assert.equal((await rotor(['configure', 'plan', '-c', file], { PG_ROOT_PASSWORD: 'x' })).code, ExitCode.USAGE);
  });
});
