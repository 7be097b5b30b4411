import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { expiryTime, isTruncated, renewalTime, retryTime } from '../src/timing.ts';

describe('renewalTime', () => {
  const cases: { name: string; durationSec: number; random: number; want: number | undefined }[] = [
    { name: '2/3 of the term without jitter', durationSec: 30, random: 0, want: 1_000 + 20_000 },
    { name: 'full jitter takes 10% off', durationSec: 30, random: 1, want: 1_000 + 18_000 },
    { name: 'floor for tiny leases', durationSec: 0.1, random: 0, want: 1_000 + 200 },
    { name: 'no expiry, no renewal', durationSec: 0, random: 0.5, want: undefined },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = renewalTime({ durationSec: c.durationSec, grantedAtMs: 1_000 }, c.random);
      if (c.want === undefined) assert.equal(got, undefined);
      else assert.ok(got !== undefined && Math.abs(got - c.want) < 1e-6, `got ${String(got)}, want ${c.want}`);
    });
  }
  it('is always before the lease ends', () => {
    for (const durationSec of [1, 4, 60, 3600]) {
      for (const random of [0, 0.3, 0.999]) {
        const lease = { durationSec, grantedAtMs: 5_000 };
        assert.ok((renewalTime(lease, random) ?? Infinity) < (expiryTime(lease) ?? 0));
      }
    }
  });
});

describe('expiryTime', () => {
  it('adds the duration, or is undefined without one', () => {
    assert.equal(expiryTime({ durationSec: 4, grantedAtMs: 1_000 }), 5_000);
    assert.equal(expiryTime({ durationSec: 0, grantedAtMs: 1_000 }), undefined);
  });
});

describe('isTruncated', () => {
  const cases: [number, number, boolean][] = [
    [4, 4, false],
    [4, 3, true],
    [4, 0, true],
    [3600, 7200, false],
  ];
  for (const [requested, granted, want] of cases) {
    it(`asked ${requested}s, granted ${granted}s -> ${want}`, () => assert.equal(isTruncated(requested, granted), want));
  }
});

describe('retryTime', () => {
  const policy = { baseDelayMs: 1_000, maxDelayMs: 60_000 };
  it('is plain backoff when the lease end is unknown or past', () => {
    assert.equal(retryTime(10_000, 2, 1, undefined, policy), 14_000);
    assert.equal(retryTime(10_000, 2, 1, 9_000, policy), 14_000);
  });
  it('never waits longer than half the time the lease has left', () => {
    assert.equal(retryTime(10_000, 5, 1, 16_000, policy), 13_000);
  });
  it('keeps a floor of half the base delay near the end', () => {
    assert.equal(retryTime(10_000, 5, 1, 10_100, policy), 10_500);
  });
  it('uses the backoff when it is sooner', () => {
    assert.equal(retryTime(10_000, 0, 0, 100_000, policy), 10_500);
  });
});
