import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Readiness } from '../../src/service-kit/readiness.ts';

/** A readiness whose pings answer from a script and whose clock the test moves. */
function harness(options: { windowMs?: number } = {}) {
  const clock = { now: 0 };
  const outcomes: boolean[] = [];
  let pings = 0;
  let release: (() => void) | undefined;
  let hold = false;
  const readiness = new Readiness(
    {
      credentialsProblem: () => undefined,
      pingDatabase: async () => {
        pings++;
        if (hold) await new Promise<void>((resolve) => (release = resolve));
        if (!(outcomes.shift() ?? true)) throw new Error('ping timed out');
      },
    },
    { failureWindowMs: options.windowMs ?? 5_000, now: () => clock.now },
  );
  return {
    readiness,
    clock,
    outcomes,
    pings: () => pings,
    hold: (on: boolean) => (hold = on),
    release: () => release?.(),
    ready: async () => (await readiness.check()).ready,
  };
}

describe('readiness', () => {
  it('stays ready through one slow or failed database ping', async () => {
    const h = harness();
    assert.equal(await h.ready(), true);
    h.clock.now = 2_000;
    h.outcomes.push(false);
    assert.equal(await h.ready(), true, 'one failed ping does not take the replica out');
    h.clock.now = 4_000;
    assert.equal(await h.ready(), true, 'the next ping answers');
    h.clock.now = 6_000;
    h.outcomes.push(false);
    assert.equal(await h.ready(), true, 'a later single failure starts a new window');
  });

  it('turns not-ready once pings keep failing for the window, and ready again when one answers', async () => {
    const h = harness({ windowMs: 5_000 });
    assert.equal(await h.ready(), true);
    h.outcomes.push(false, false, false, false);
    h.clock.now = 10_000;
    assert.equal(await h.ready(), true);
    h.clock.now = 12_000;
    assert.equal(await h.ready(), true);
    h.clock.now = 14_999;
    assert.equal(await h.ready(), true, 'just inside the window');
    h.clock.now = 15_000;
    assert.deepEqual(await h.readiness.check(), { ready: false, reason: 'database unreachable' });
    h.clock.now = 17_000;
    assert.equal(await h.ready(), true, 'the database answers again');
  });

  it('gives no benefit of the doubt before the database ever answered', async () => {
    const h = harness();
    h.outcomes.push(false);
    assert.deepEqual(await h.readiness.check(), { ready: false, reason: 'database unreachable' });
    assert.equal(await h.ready(), true);
  });

  it('sends one ping for checks that arrive while one is in flight', async () => {
    const h = harness();
    h.hold(true);
    const checks = [h.readiness.check(), h.readiness.check(), h.readiness.check()];
    await new Promise((resolve) => setImmediate(resolve));
    h.release();
    const results = await Promise.all(checks);
    assert.ok(results.every((r) => r.ready));
    assert.equal(h.pings(), 1);
    h.hold(false);
    await h.readiness.check();
    assert.equal(h.pings(), 2, 'the next check pings anew');
  });

  it('turns not-ready at once when the database refuses this replica\'s credentials', async () => {
    let refused = false;
    const readiness = new Readiness({
      credentialsProblem: () => undefined,
      pingDatabase: () => (refused ? Promise.reject(Object.assign(new Error('refused'), { code: 'DBCREDS_REFUSED' })) : Promise.resolve()),
      isRefusal: (err) => (err as { code?: string }).code === 'DBCREDS_REFUSED',
    });
    assert.deepEqual(await readiness.check(), { ready: true });
    refused = true;
    assert.deepEqual(await readiness.check(), { ready: false, reason: 'database refused the credentials' });
  });

  it('reports invalid credentials and leaving at once, leaving for good', async () => {
    let problem: string | undefined = 'database credentials expired';
    const readiness = new Readiness({ credentialsProblem: () => problem, pingDatabase: () => Promise.resolve() });
    assert.deepEqual(await readiness.check(), { ready: false, reason: 'database credentials expired' });
    problem = undefined;
    assert.deepEqual(await readiness.check(), { ready: true });
    readiness.leave('SIGTERM');
    readiness.leave('credentials expiring');
    assert.deepEqual(await readiness.check(), { ready: false, reason: 'SIGTERM' });
    assert.equal(readiness.leaving, true);
  });
  it('answers not-ready when leave() comes while a slow ping is in flight (SIGTERM during a check)', async () => {
    const h = harness();
    assert.equal(await h.ready(), true);
    h.outcomes.push(false);
    h.hold(true);
    const pending = h.readiness.check();
    h.readiness.leave('SIGTERM');
    h.release();
    assert.deepEqual(await pending, { ready: false, reason: 'SIGTERM' });
  });
});
