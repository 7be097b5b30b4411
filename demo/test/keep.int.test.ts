// `npm run demo -- --keep`: after every check, a users-api is left to curl (even
// though step 7 stopped the ones it measured), and Ctrl-C ends the demo with a
// full teardown and exit 0.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@rotor/testbed';

const repo = fileURLToPath(new URL('../../', import.meta.url));

describe('npm run demo -- --quick --keep', { timeout: 480_000 }, () => {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=rotor-source', 'demo/src/main.ts', '--quick', '--keep'], {
    cwd: repo,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      await exited;
      clearTimeout(timer);
    }
  });

  it('leaves a users-api to curl after the vault-mode phase, and Ctrl-C ends it cleanly', async () => {
    const url = await waitFor('the keep phase', () => Promise.resolve(/curl (http:\/\/127\.0\.0\.1:\d+)\/users\n/.exec(stdout)?.[1]), {
      timeoutMs: 420_000,
      intervalMs: 500,
    }).catch((err: unknown) => {
      throw new Error(`${String(err)}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`);
    });
    assert.match(stdout, /── 7\. Service Owner: users-api holds its own lease/, 'the vault-mode phase ran (it stops the file-mode users-api)');
    const answer = await fetch(`${url}/users`);
    assert.equal(answer.status, 200);
    assert.deepEqual(((await answer.json()) as { items: Array<{ name: string }> }).items.map((u) => u.name), ['sakib', 'hanifa']);

    child.kill('SIGINT');
    const code = await exited;
    const failed = stdout.split('\n').filter((l) => l.includes('✗'));
    assert.equal(code, 0, `exit ${String(code)}\n${failed.join('\n')}\n${stdout.slice(-3000)}\n${stderr.slice(-2000)}`);
    assert.match(stdout, /All \d+ checks passed\./);
    const dir = /work dir (\/\S+rotor-demo-\w+)/.exec(stdout)?.[1];
    assert.ok(dir && !existsSync(dir), 'the work dir is removed');
    assert.equal(await fetch(`${url}/users`).then(() => 'answered', () => 'gone'), 'gone', 'users-api was stopped');
  });
});
