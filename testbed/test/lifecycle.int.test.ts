// Testbed servers leave nothing behind: no process, no listening port, no temp dir.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServerProcess, startOpenBao, startPostgres, waitFor } from '../src/index.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function tempDirs(prefix: string): Set<string> {
  return new Set(readdirSync(tmpdir()).filter((d) => d.startsWith(prefix)));
}

describe('testbed lifecycle', { timeout: 120_000 }, () => {
  it('postgres stop() frees its port and deletes its data', async () => {
    const before = tempDirs('rotor-pg-');
    const db = await startPostgres();
    assert.equal(await portOpen(db.host, db.port), true);
    const created = [...tempDirs('rotor-pg-')].filter((d) => !before.has(d));
    assert.equal(created.length, 1);
    await db.stop();
    assert.equal(await portOpen(db.host, db.port), false);
    assert.equal(existsSync(join(tmpdir(), created[0] ?? '')), false);
  });

  it('openbao dev stop() frees its port and deletes its dir', async () => {
    const before = tempDirs('rotor-bao-dev-');
    const bao = await startOpenBao({ mode: 'dev' });
    const { hostname, port } = new URL(bao.address);
    assert.equal(await portOpen(hostname, Number(port)), true);
    await bao.stop();
    assert.equal(await portOpen(hostname, Number(port)), false);
    assert.deepEqual([...tempDirs('rotor-bao-dev-')].filter((d) => !before.has(d)), []);
  });

  it('a server that dies at start-up is reported with the tail of its log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rotor-proc-'));
    const server = new ServerProcess({
      name: 'doomed',
      command: '/bin/sh',
      args: ['-c', 'echo "listener: address already in use"; exit 3'],
      logFile: join(dir, 'doomed.log'),
    });
    try {
      const err = await waitFor('never', () => Promise.resolve(undefined), { timeoutMs: 30_000, signal: server.exitSignal }).then(
        () => undefined,
        (e: unknown) => server.failure('did not become ready', e),
      );
      assert.ok(err);
      assert.match(err.message, /doomed: did not become ready/);
      assert.match(err.message, /address already in use/);
      const pid = server.pid;
      await server.stop();
      assert.ok(pid !== undefined && !alive(pid));
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
