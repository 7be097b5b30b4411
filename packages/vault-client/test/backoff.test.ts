import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay } from '../src/backoff.ts';

describe('backoffDelay, full jitter (Vault calls)', () => {
  const policy = { baseDelayMs: 100, maxDelayMs: 1_000, jitter: 'full' } as const;
  const cases: [attempt: number, random: number, expected: number][] = [
    [0, 0, 0],
    [0, 0.5, 50],
    [0, 0.999, 99],
    [1, 0.5, 100],
    [2, 0.5, 200],
    [3, 0.999, 799],
    [4, 0.999, 999], // 1600 capped at 1000
    [20, 0.5, 500],
  ];
  for (const [attempt, random, expected] of cases) {
    it(`attempt ${attempt}, random ${random} -> ${expected} ms`, () => assert.equal(backoffDelay(attempt, random, policy), expected));
  }
});

describe('backoffDelay, equal jitter (the default: renewals, reconnects, key persistence)', () => {
  const policy = { baseDelayMs: 100, maxDelayMs: 1_000 };
  const cases: [attempt: number, random: number, expected: number][] = [
    [0, 0, 50],
    [0, 0.999, 99],
    [1, 0, 100],
    [1, 0.5, 150],
    [2, 0.5, 300],
    [3, 0, 400],
    [4, 0, 500], // 1600 capped at 1000
    [10, 0, 500],
    [40, 1 - Number.EPSILON, 999],
    [-1, 0, 50], // a negative attempt counts as the first
  ];
  for (const [attempt, random, expected] of cases) {
    it(`attempt ${attempt}, random ${random} -> ${expected} ms`, () => assert.equal(backoffDelay(attempt, random, policy), expected));
  }
  it('stays below the ceiling and at or above half of it', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(1_000, 100 * 2 ** attempt);
      for (const random of [0, 0.25, 0.5, 0.75, 1 - Number.EPSILON]) {
        const delay = backoffDelay(attempt, random, policy);
        assert.ok(delay >= ceiling / 2 && delay < ceiling, `attempt ${attempt}, random ${random}: ${delay}`);
      }
    }
  });
});
