import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { credentialsExpiryProblem, evictionRetryDelay, expiryExitTime, expiryReadinessMarginMs } from '../../src/service-kit/expiry-exit.ts';

const MIN = 60_000;
const now = 1_700_000_000_000;

describe('expiryExitTime', () => {
  it('leaves lead plus a random share of the jitter before expiry', () => {
    const base = { expiresAtMs: now + 60 * MIN, nowMs: now, leadMs: 5 * MIN, jitterMs: 5 * MIN };
    assert.equal(expiryExitTime({ ...base, random: 0 }), now + 55 * MIN);
    assert.equal(expiryExitTime({ ...base, random: 0.5 }), now + 52.5 * MIN);
    assert.equal(expiryExitTime({ ...base, random: 0.999_999 }), Math.round(now + 50 * MIN + 0.000_001 * 5 * MIN));
  });

  it('spreads replicas that started together across the jitter window', () => {
    const times = [0, 0.25, 0.5, 0.75].map((random) => expiryExitTime({ expiresAtMs: now + 60 * MIN, nowMs: now, random, leadMs: MIN, jitterMs: 8 * MIN }));
    assert.equal(new Set(times).size, 4);
    for (const t of times) assert.ok(t <= now + 59 * MIN && t >= now + 51 * MIN);
  });

  it('caps lead and jitter at a quarter of the remaining lifetime each', () => {
    // 8 minutes left, 5+5 asked: 2 min lead, up to 2 min jitter -> between 4 and 6 minutes from now.
    const at = (random: number) => expiryExitTime({ expiresAtMs: now + 8 * MIN, nowMs: now, random, leadMs: 5 * MIN, jitterMs: 5 * MIN });
    assert.equal(at(0), now + 6 * MIN);
    assert.equal(at(1), now + 4 * MIN);
  });

  it('answers now when the credentials already expired', () => {
    assert.equal(expiryExitTime({ expiresAtMs: now - 1, nowMs: now, random: 0.3, leadMs: MIN, jitterMs: MIN }), now);
    assert.equal(expiryExitTime({ expiresAtMs: now, nowMs: now, random: 0.3, leadMs: MIN, jitterMs: MIN }), now);
  });

  it('treats out-of-range randomness as its bound and never answers the past', () => {
    const base = { expiresAtMs: now + 60 * MIN, nowMs: now, leadMs: 0, jitterMs: 10 * MIN };
    assert.equal(expiryExitTime({ ...base, random: -3 }), now + 60 * MIN);
    assert.equal(expiryExitTime({ ...base, random: 7 }), now + 50 * MIN);
    assert.ok(expiryExitTime({ expiresAtMs: now + 1, nowMs: now, random: 1, leadMs: MIN, jitterMs: MIN }) >= now);
  });
});

describe('evictionRetryDelay', () => {
  it('waits 5 to 10 seconds but never past the deadline', () => {
    assert.equal(evictionRetryDelay(now, now + MIN, 0), 5_000);
    assert.equal(evictionRetryDelay(now, now + MIN, 1), 10_000);
    assert.equal(evictionRetryDelay(now, now + 3_000, 0.5), 3_000);
    assert.equal(evictionRetryDelay(now, now - 1, 0.5), 0);
  });
});

describe('readiness before expiry', () => {
  it('turns not-ready a tenth of the lease (at most 30 s) before an exact expiry', () => {
    assert.equal(expiryReadinessMarginMs(10), 1_000);
    assert.equal(expiryReadinessMarginMs(1), 100);
    assert.equal(expiryReadinessMarginMs(120), 12_000);
    assert.equal(expiryReadinessMarginMs(768 * 3600), 30_000);
    assert.equal(credentialsExpiryProblem(undefined, 1_000, 5_000), undefined);
    assert.equal(credentialsExpiryProblem(10_000, 1_000, 8_999), undefined);
    assert.equal(credentialsExpiryProblem(10_000, 1_000, 9_000), 'database credentials about to expire');
    assert.equal(credentialsExpiryProblem(10_000, 1_000, 10_000), 'database credentials expired');
    assert.equal(credentialsExpiryProblem(10_000, 0, 9_999), undefined, 'no margin where the expiry is only a lower bound');
  });

  it('a healthy source renews (at 2/3 minus 10 % jitter) well before the margin', () => {
    for (const leaseSec of [1, 4, 10, 60, 3600, 768 * 3600]) {
      const renewAtMs = leaseSec * 1000 * (2 / 3) * 0.9;
      assert.ok(leaseSec * 1000 - renewAtMs > expiryReadinessMarginMs(leaseSec), `${leaseSec} s lease`);
    }
  });
});
