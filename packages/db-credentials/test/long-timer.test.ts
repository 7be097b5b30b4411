import { afterEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_TIMER_DELAY_MS, longDelay, setLongTimeout, timerStep } from '../src/long-timer.ts';

/** Vault's default lease when a role sets no TTL. */
const LEASE_768H_MS = 768 * 3_600_000;

describe('long timers', () => {
  afterEach(() => mock.timers.reset());

  /** Mocked setTimeout (which overflows like the real one) and a clock that follows its ticks. */
  function fakeTime(): { now: () => number; tick: (ms: number) => void } {
    mock.timers.enable({ apis: ['setTimeout'] });
    let t = 0;
    return {
      now: () => t,
      tick: (ms) => {
        t += ms;
        mock.timers.tick(ms);
      },
    };
  }

  it('a plain setTimeout of a 768 h lease fires after 1 ms (the bug this guards against)', () => {
    const time = fakeTime();
    let fired = 0;
    process.once('warning', () => undefined); // TimeoutOverflowWarning
    setTimeout(() => fired++, LEASE_768H_MS);
    time.tick(1);
    assert.equal(fired, 1);
  });

  it('setLongTimeout waits the whole 768 h, re-arming in steps a timer can hold', () => {
    const time = fakeTime();
    let fired = 0;
    setLongTimeout(() => fired++, LEASE_768H_MS, { now: time.now });
    time.tick(1);
    assert.equal(fired, 0);
    time.tick(MAX_TIMER_DELAY_MS); // first step over: re-armed for the rest
    assert.equal(fired, 0);
    time.tick(LEASE_768H_MS - MAX_TIMER_DELAY_MS - 2);
    assert.equal(fired, 0, 'not 1 ms early');
    time.tick(1);
    assert.equal(fired, 1);
    time.tick(LEASE_768H_MS);
    assert.equal(fired, 1, 'fires once');
  });

  it('short delays behave like setTimeout, and cancel stops a pending timer', () => {
    const time = fakeTime();
    let fired = 0;
    setLongTimeout(() => fired++, 500, { now: time.now });
    const cancelled = setLongTimeout(() => fired++, 500, { now: time.now });
    time.tick(499);
    cancelled.cancel();
    assert.equal(fired, 0);
    time.tick(1);
    assert.equal(fired, 1);
  });

  it('longDelay resolves after 768 h and rejects with the signal reason on abort', async () => {
    const time = fakeTime();
    let resolved = false;
    const waiting = longDelay(LEASE_768H_MS, { now: time.now }).then(() => (resolved = true));
    time.tick(MAX_TIMER_DELAY_MS);
    await Promise.resolve();
    assert.equal(resolved, false);
    time.tick(LEASE_768H_MS - MAX_TIMER_DELAY_MS);
    await waiting;
    assert.equal(resolved, true);

    const abort = new AbortController();
    const aborted = longDelay(LEASE_768H_MS, { now: time.now, signal: abort.signal });
    abort.abort(new Error('leaving'));
    await assert.rejects(aborted, /leaving/);
  });

  it('with real timers, a 768 h timer has not fired when a 20 ms timer fires', async () => {
    let fired = false;
    const timer = setLongTimeout(() => (fired = true), LEASE_768H_MS);
    try {
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(fired, false);
    } finally {
      timer.cancel();
    }
  });

  it('timerStep never exceeds what a Node timer holds', () => {
    assert.equal(timerStep(LEASE_768H_MS), MAX_TIMER_DELAY_MS);
    assert.equal(timerStep(1_000), 1_000);
    assert.equal(timerStep(-5), 0);
  });
});
