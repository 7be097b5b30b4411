// The published form: `npm pack` @rotor/vault-client and @rotor/db-credentials,
// install the tarballs into a scratch project outside the workspace (their
// dependencies from the npm registry), and run examples/minimal-service.mjs
// there against a real OpenBao and PostgreSQL: it must keep answering across
// credential rotations with no failed request, and revoke its lease on SIGTERM.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startOpenBao, startPostgres, waitFor, type OpenBaoDevServer, type PostgresServer } from '@rotor/testbed';
import { liveLeases, setUpAppRole, setUpSeed } from './fixtures.ts';

const run = promisify(execFile);
const PACKAGES = ['vault-client', 'db-credentials'].map((name) => fileURLToPath(new URL(`../../${name}/`, import.meta.url)));
const EXAMPLE = fileURLToPath(new URL('../examples/minimal-service.mjs', import.meta.url));
const ROLE = 'rotating-role';

interface PackResult {
  filename: string;
  files: Array<{ path: string }>;
}

/** Every target of the package's `exports` (types and code) that is not the repository's own source condition. */
function exportTargets(dir: string): string[] {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { exports: Record<string, Record<string, string>> };
  return Object.values(pkg.exports).flatMap((conditions) => Object.entries(conditions).filter(([c]) => c !== 'rotor-source').map(([, target]) => target.replace(/^\.\//, '')));
}

describe('the packed packages in a project of their own', { timeout: 420_000 }, () => {
  let db: PostgresServer;
  let bao: OpenBaoDevServer;
  let scratch: string;
  let service: ChildProcess | undefined;

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'rotor-pack-'));
    [db, bao] = await Promise.all([startPostgres(), startOpenBao({ mode: 'dev' })]);
  });
  after(async () => {
    if (service?.exitCode === null) service.kill('SIGKILL');
    await Promise.all([db?.stop(), bao?.stop()]);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('installs from the tarballs and serves across rotations with zero failed requests', async () => {
    const tarballs: string[] = [];
    for (const dir of PACKAGES) {
      // prepack builds dist/ first.
      const { stdout } = await run('npm', ['pack', '--pack-destination', scratch, '--json'], { cwd: dir, maxBuffer: 16 * 1024 * 1024, timeout: 180_000 });
      const [packed] = JSON.parse(stdout) as PackResult[];
      assert.ok(packed);
      const files = packed.files.map((f) => f.path);
      for (const target of exportTargets(dir)) assert.ok(files.includes(target), `${packed.filename} ships ${target}`);
      assert.ok(!files.some((f) => f.startsWith('src/') || f.includes('/test/')), `${packed.filename} ships no sources or tests`);
      tarballs.push(packed.filename);
    }
    writeFileSync(
      join(scratch, 'package.json'),
      JSON.stringify({ name: 'scratch', private: true, type: 'module', dependencies: { '@rotor/vault-client': `file:./${tarballs[0]}`, '@rotor/db-credentials': `file:./${tarballs[1]}` } }),
    );
    // The shared npm lock: other sessions install into the workspace at the same time.
    await run('flock', ['/tmp/rotor-npm.lock', 'npm', 'install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: scratch, timeout: 240_000 });
    copyFileSync(EXAMPLE, join(scratch, 'service.mjs'));

    const root = await setUpSeed(db, bao, { [ROLE]: { defaultTtl: '3s', maxTtl: '7s' } });
    const approle = await setUpAppRole(root, 'app');
    let output = '';
    service = spawn(process.execPath, ['service.mjs'], {
      cwd: scratch,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        PORT: '0',
        DB_HOST: db.host,
        DB_PORT: String(db.port),
        CREDENTIALS_MODE: 'vault',
        VAULT_ADDR: bao.address,
        VAULT_AUTH_METHOD: 'approle',
        VAULT_ROLE_ID: approle.roleId,
        VAULT_SECRET_ID: approle.secretId,
        VAULT_DB_ROLE: ROLE,
      },
    });
    const child = service;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const port = await waitFor('the service to listen', () => Promise.resolve(/listening on (\d+)/.exec(output)?.[1] ?? (child.exitCode !== null ? Promise.reject(new Error(`service exited: ${output}`)) : undefined)), { timeoutMs: 60_000 });
    const base = `http://127.0.0.1:${port}`;
    assert.equal((await fetch(`${base}/readyz`)).status, 200);

    // Four request loops until the service answered as three logins (two rotations).
    const logins = new Set<string>();
    const failures: string[] = [];
    let ok = 0;
    let stop = false;
    const loop = async (): Promise<void> => {
      while (!stop) {
        try {
          const res = await fetch(base);
          const body = (await res.json().catch(() => undefined)) as { login?: string; users?: number } | undefined;
          if (res.status === 200 && body?.login !== undefined && body.users === 2) {
            ok++;
            logins.add(body.login);
          } else failures.push(`status ${res.status}`);
        } catch (err) {
          failures.push(err instanceof Error ? err.message : String(err));
        }
      }
    };
    const loops = [loop(), loop(), loop(), loop()];
    try {
      await waitFor('two credential rotations', () => Promise.resolve(logins.size >= 3 ? true : undefined), { timeoutMs: 90_000, intervalMs: 100 });
    } finally {
      stop = true;
      await Promise.all(loops);
    }
    assert.deepEqual(failures, [], `failed requests (of ${ok + failures.length})`);
    assert.ok(ok > 0);

    child.kill('SIGTERM');
    assert.equal(await exited, 0, output);
    // Each login's lease was revoked: the one in use on stop, the older ones once their pools drained.
    await waitFor('no lease left', async () => ((await liveLeases(root, ROLE)).length === 0 ? true : undefined), { timeoutMs: 30_000 });
  });
});
