// The election rules, pure, and the lock-file driver with injected clocks:
// takeover is judged on the candidate's own clock from when it last saw the
// record change (clock skew cannot make it early), and a leader stops acting at
// its renew deadline, before anyone may take over.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Lease } from '@kubernetes/client-node';
import {
  FileLockElection,
  KubernetesLeaseElection,
  checkElectionTiming,
  decideLease,
  leaseRecord,
  observeLease,
  withinRenewDeadline,
  type LeaseObservation,
  type LeaseRecord,
} from '../src/index.ts';
import type { CoordinationV1Api } from '@kubernetes/client-node';

const HOUR = 3_600_000;
const record = (holder: string, version: string, renewedAt = 0): LeaseRecord => ({ holder, renewedAt, durationMs: 15_000, version });
const seen = (r: LeaseRecord, observedAt: number): LeaseObservation => ({ record: r, observedAt });

describe('decideLease on locally observed time', () => {
  const table: [string, LeaseObservation | undefined, number, string][] = [
    ['no lease', undefined, 0, 'acquire'],
    ['released lease', seen(record('', 'v1'), 0), 0, 'acquire'],
    ['own lease', seen(record('me', 'v1'), 0), 100_000, 'renew'],
    ['another holder, seen change 10 s ago', seen(record('other', 'v1'), 100_000), 110_000, 'held-by-other'],
    ['another holder, seen unchanged exactly one lease', seen(record('other', 'v1'), 100_000), 115_000, 'held-by-other'],
    ['another holder, unchanged for longer than the lease', seen(record('other', 'v1'), 100_000), 115_001, 'take-over'],
    // The holder's renewTime is an hour "old" by our clock: irrelevant, we only just saw it.
    ['renewTime far in our past, but just observed', seen(record('other', 'v1', 0), 10 * HOUR), 10 * HOUR + 1, 'held-by-other'],
  ];
  for (const [name, observed, now, expected] of table) it(`${name} -> ${expected}`, () => assert.equal(decideLease(observed, 'me', now), expected));
});

describe('observeLease', () => {
  it('keeps the first sighting while the record is unchanged, restarts on any change', () => {
    const first = observeLease(undefined, record('other', 'v1'), 1_000);
    assert.deepEqual(first, seen(record('other', 'v1'), 1_000));
    assert.equal(observeLease(first, record('other', 'v1'), 9_000), first, 'unchanged: the clock keeps running');
    assert.deepEqual(observeLease(first, record('other', 'v2'), 9_000), seen(record('other', 'v2'), 9_000), 'renewed: the clock restarts');
    assert.equal(observeLease(first, undefined, 9_000), undefined);
  });

  it('a Kubernetes Lease is versioned by its whole spec, so a renewal by a skewed holder counts as a change', () => {
    const lease = (renewTime: Date): V1Lease => ({ spec: { holderIdentity: 'pod-a', leaseDurationSeconds: 15, renewTime, leaseTransitions: 1 } });
    // The holder's clock is an hour behind ours: its renewals still change the record.
    const a = leaseRecord(lease(new Date(5_000 - HOUR)));
    const b = leaseRecord(lease(new Date(7_000 - HOUR)));
    assert.ok(a && b);
    assert.deepEqual({ holder: a.holder, durationMs: a.durationMs }, { holder: 'pod-a', durationMs: 15_000 });
    assert.notEqual(a.version, b.version);
    assert.equal(leaseRecord(lease(new Date(5_000 - HOUR)))?.version, a.version);
    assert.equal(leaseRecord({ spec: {} }), undefined);
  });
});

describe('renew deadline', () => {
  it('leads only within the deadline from the start of the last successful renewal', () => {
    assert.equal(withinRenewDeadline(undefined, 10_000, 0), false);
    assert.equal(withinRenewDeadline(1_000, 10_000, 10_999), true);
    assert.equal(withinRenewDeadline(1_000, 10_000, 11_000), false);
  });

  it('must be shorter than the lease', () => {
    assert.equal(checkElectionTiming(15_000, 10_000), undefined);
    assert.match(checkElectionTiming(15_000, 15_000) ?? '', /shorter than the lease/);
    assert.match(checkElectionTiming(0, 0) ?? '', /positive/);
    const api = {} as CoordinationV1Api;
    assert.throws(() => new KubernetesLeaseElection(api, { namespace: 'v', name: 'l', identity: 'a', leaseSeconds: 10, renewDeadlineSeconds: 10 }), { code: 'UNSEALER_CONFIG' });
  });
});

describe('FileLockElection with skewed clocks', () => {
  function lockPath(t: { after(fn: () => void): void }): string {
    const dir = mkdtempSync(join(tmpdir(), 'rotor-election-unit-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    return join(dir, 'lock');
  }

  /** A clock per candidate: the same elapsed time, any offset. */
  function clocks(offsets: number[]): { nows: (() => number)[]; advance(ms: number): void } {
    let elapsed = 1_000_000;
    return { nows: offsets.map((o) => () => elapsed + o), advance: (ms) => void (elapsed += ms) };
  }

  it('a candidate whose clock runs an hour ahead does not take over a renewing holder', async (t) => {
    const path = lockPath(t);
    const clock = clocks([0, HOUR]);
    const a = new FileLockElection(path, { identity: 'a', leaseMs: 10_000, now: clock.nows[0] });
    const b = new FileLockElection(path, { identity: 'b', leaseMs: 10_000, now: clock.nows[1] });
    assert.equal(await a.tryAcquire(), true);
    for (let i = 0; i < 5; i++) {
      // Under the old rule b would see a's renewal an hour old and take over at once.
      assert.equal(await b.tryAcquire(), false, `round ${i}`);
      clock.advance(5_000);
      assert.equal(await a.tryAcquire(), true);
    }
    // a dies (stops renewing): b waits a whole lease on its own clock, then takes over.
    assert.equal(await b.tryAcquire(), false);
    clock.advance(10_000);
    assert.equal(await b.tryAcquire(), false, 'exactly one lease duration is not yet enough');
    clock.advance(1);
    assert.equal(await b.tryAcquire(), true);
  });

  it('a candidate whose clock runs an hour behind takes over a dead holder after one lease, not an hour', async (t) => {
    const path = lockPath(t);
    const clock = clocks([0, -HOUR]);
    const a = new FileLockElection(path, { identity: 'a', leaseMs: 10_000, now: clock.nows[0] });
    const b = new FileLockElection(path, { identity: 'b', leaseMs: 10_000, now: clock.nows[1] });
    assert.equal(await a.tryAcquire(), true);
    assert.equal(await b.tryAcquire(), false);
    clock.advance(10_001);
    assert.equal(await b.tryAcquire(), true);
  });

  it('never two leaders: the holder stops at its renew deadline before the other may take over', async (t) => {
    const path = lockPath(t);
    const clock = clocks([0, 7 * HOUR]);
    const a = new FileLockElection(path, { identity: 'a', leaseMs: 9_000, renewDeadlineMs: 6_000, now: clock.nows[0] });
    const b = new FileLockElection(path, { identity: 'b', leaseMs: 9_000, renewDeadlineMs: 6_000, now: clock.nows[1] });
    assert.equal(await a.tryAcquire(), true);
    let aSteppedDown = false;
    let bTookOver = false;
    // a renews for a while, then hangs (a slow pass); b polls every second.
    for (let second = 1; second <= 30; second++) {
      clock.advance(1_000);
      if (second <= 10 && second % 3 === 0) assert.equal(await a.tryAcquire(), true);
      if (await b.tryAcquire()) bTookOver = true;
      if (!a.isLeading()) aSteppedDown = true;
      assert.ok(!(a.isLeading() && b.isLeading()), `two leaders at second ${second}`);
      if (bTookOver) assert.ok(aSteppedDown, 'b took over only after a had stepped down');
    }
    assert.ok(aSteppedDown && bTookOver);
    assert.equal(await a.tryAcquire(), false, 'the old leader finds the lease taken');
  });

  it('one holder at a time; release frees it at once', async (t) => {
    const path = lockPath(t);
    const clock = clocks([0, 0]);
    const a = new FileLockElection(path, { identity: 'a', leaseMs: 10_000, now: clock.nows[0] });
    const b = new FileLockElection(path, { identity: 'b', leaseMs: 10_000, now: clock.nows[1] });
    assert.deepEqual(await Promise.all([a.tryAcquire(), b.tryAcquire()]).then((r) => r.sort()), [false, true]);
    const [holder, other] = a.isLeading() ? [a, b] : [b, a];
    await holder.release();
    assert.equal(holder.isLeading(), false);
    assert.equal(await other.tryAcquire(), true);
    assert.equal(await holder.tryAcquire(), false);
  });
});
