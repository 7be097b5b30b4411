// Lifecycle of the runner without any server: addresses where nothing listens.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from '@rotor/testbed';
import { FileKeyStore, HealthServer, StaticDiscovery, Unsealer } from '../src/index.ts';

const handles = (): string[] => process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'TCPSocketWrap' || r === 'TCPServerWrap');

describe('Unsealer lifecycle', () => {
  it('rejects illegal transitions with coded errors and leaves no timer or socket after stop', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'rotor-unsealer-life-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const baseline = handles().length;
    const port = await freePort('127.0.0.1');
    const unsealer = new Unsealer({
      discovery: new StaticDiscovery([`http://127.0.0.1:${port}`]),
      keyStore: new FileKeyStore(join(dir, 'keys.json')),
      timing: { resyncMs: 50 },
      probe: { intervalMs: 20 },
    });
    await assert.rejects(unsealer.stop(), { code: 'UNSEALER_ILLEGAL_STATE' });
    unsealer.start();
    assert.throws(() => unsealer.start(), { code: 'UNSEALER_ILLEGAL_STATE' });
    await assert.rejects(unsealer.runUntilSettled(), { code: 'UNSEALER_ILLEGAL_STATE' });
    assert.deepEqual(unsealer.health(), { healthy: true, state: 'running' });

    const server = new HealthServer(unsealer, unsealer.registry);
    const healthPort = await server.listen(0, '127.0.0.1');
    const res = await fetch(`http://127.0.0.1:${healthPort}/healthz`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const metrics = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
    assert.match(metrics, /rotor_unsealer_node_reachable\{node="http:\/\/127.0.0.1:\d+"\} 0/);
    await server.close();
    await assert.rejects(server.close(), { code: 'UNSEALER_ILLEGAL_STATE' });

    await unsealer.stop();
    assert.equal(unsealer.state, 'stopped');
    await assert.rejects(unsealer.stop(), { code: 'UNSEALER_ILLEGAL_STATE' });
    assert.throws(() => unsealer.start(), { code: 'UNSEALER_ILLEGAL_STATE' });
    assert.equal(await unsealer.done(), undefined);
    // Closed handles leave the list on a later tick of the event loop.
    await waitFor('timers and sockets released', () => Promise.resolve(handles().length <= baseline ? true : undefined), {
      timeoutMs: 10_000,
      intervalMs: 50,
    });
  });

  it('rejects impossible shares/threshold', () => {
    const base = { discovery: new StaticDiscovery(['http://127.0.0.1:1']), keyStore: new FileKeyStore('/nonexistent/k') };
    for (const [shares, threshold] of [[3, 5], [5, 0], [256, 3], [2.5, 1]]) {
      assert.throws(() => new Unsealer({ ...base, shares, threshold }), { code: 'UNSEALER_CONFIG' });
    }
  });
});
