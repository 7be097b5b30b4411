// Runs `npm run demo`'s program (without the setup script) as a user would, in
// its quick setting, and checks the verdict, the key figures, the teardown and
// that none of the secrets it handled appears in its output.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runDemo(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=rotor-source', 'demo/src/main.ts', ...args], {
      cwd: repo,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run demo --quick', { timeout: 420_000 }, () => {
  const scratch = mkdtempSync(join(tmpdir(), 'rotor-demo-test-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));
  let run: Run;
  let secrets: string[] = [];

  it('runs the whole flow and exits 0', async () => {
    const secretsFile = join(scratch, 'secrets.json');
    run = await runDemo(['--quick'], { ...process.env, NO_COLOR: '1', ROTOR_DEMO_SECRETS_FILE: secretsFile });
    if (existsSync(secretsFile)) secrets = JSON.parse(readFileSync(secretsFile, 'utf8')) as string[];
    assert.equal(run.code, 0, `exit ${String(run.code)}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`);
    assert.match(run.stdout, /All \d+ checks passed\./);
    assert.doesNotMatch(run.stdout, /✗/);
  });

  it('served every request during rotation and rotated at least 3 times', () => {
    const load = /✓ (\d+) requests in [\d.]+ s, (\d+) failed/.exec(run.stdout);
    assert.ok(load, 'the load line is printed');
    assert.ok(Number(load[1]) > 0, 'requests were made');
    assert.equal(Number(load[2]), 0, '0 failed');
    const rotations = /✓ (\d+) credential rotations under load/.exec(run.stdout);
    assert.ok(rotations, 'the rotations line is printed');
    assert.ok(Number(rotations[1]) >= 3, `${rotations[1]} rotations`);
    assert.match(run.stdout, /✓ rotate-root done: vault_admin's first password now fails \(SQLSTATE 28P01/);
    assert.match(run.stdout, /✓ GET \/users → 200: 1 sre sakib, 2 manager hanifa/);
    assert.match(run.stdout, /✓ POST \/users → 403/);
    assert.match(run.stdout, /✓ node-\d unsealed again by the unsealer in [\d.]+ s/);
    // Agent file mode and vault mode: rotations counted by reason, the refused-credentials retry never used.
    assert.equal((run.stdout.match(/✓ the refused-credentials recovery stayed unused: rotations by reason [^\n]*auth-failure 0/g) ?? []).length, 2);
  });

  it('tore everything down', () => {
    const dir = /work dir (\/\S+rotor-demo-\w+)/.exec(run.stdout)?.[1];
    assert.ok(dir, 'the work dir is printed');
    assert.equal(existsSync(dir), false, `${dir} removed`);
    assert.match(run.stdout, /✓ \d+ components stopped/);
  });

  it('never printed a secret, and scanned every server log for login tokens too', () => {
    assert.ok(secrets.length >= 10, `the demo reported the secrets it handled (${secrets.length})`);
    const scan = /✓ no secret in the output or the logs \((\d+) secret values: ([^;]*); (\d+) logs/.exec(run.stdout);
    assert.ok(scan, 'the scan line is printed');
    for (const kind of ['unseal key', 'root token', 'db password', 'vault token']) assert.match(scan[2] ?? '', new RegExp(kind), `the scan looks for ${kind}s`);
    // The demo's own logs plus OpenBao ×3, PostgreSQL, the agent, users-api (and etcd and kube-apiserver with the kube testbed).
    assert.ok(Number(scan[3]) >= 10, `${scan[3]} logs scanned`);
    const output = run.stdout + run.stderr;
    const leaked = secrets.filter((s) => output.includes(s)).length;
    assert.equal(leaked, 0, `${leaked} secret values appear in the output`);
    // Shapes, in case a secret was never reported: JWTs and Vault/OpenBao service tokens.
    assert.doesNotMatch(output, /eyJ[\w-]{10,}\.eyJ[\w-]{10,}\./);
    assert.doesNotMatch(output, /\b(hvs|s)\.[A-Za-z0-9]{24,}\b/);
  });
});
