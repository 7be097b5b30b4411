import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, type BackoffPolicy } from '../src/backoff.ts';

describe('backoffDelay', () => {
  const base = { baseDelayMs: 100, maxDelayMs: 1_000 };
  // Full jitter (Vault calls): anywhere below the ceiling. Equal jitter (the default: renewals,
  // reconnects, key persistence): half the ceiling fixed.
  const cases: [jitter: BackoffPolicy['jitter'], attempt: number, random: number, expected: number][] = [
    ['full', 0, 0, 0],
    ['full', 0, 0.5, 50],
    ['full', 0, 0.999, 99],
    ['full', 1, 0.5, 100],
    ['full', 3, 0.999, 799],
    ['full', 4, 0.999, 999], // 1600 capped at 1000
    ['full', 20, 0.5, 500],
    [undefined, 0, 0, 50],
    [undefined, 0, 0.999, 99],
    [undefined, 1, 0.5, 150],
    [undefined, 2, 0.5, 300],
    [undefined, 4, 0, 500], // 1600 capped at 1000
    [undefined, 40, 1 - Number.EPSILON, 999],
    [undefined, -1, 0, 50], // a negative attempt counts as the first
  ];
  for (const [jitter, attempt, random, expected] of cases) {
    it(`${jitter ?? 'equal'} jitter, attempt ${attempt}, random ${random} -> ${expected} ms`, () => {
      assert.equal(backoffDelay(attempt, random, { ...base, jitter }), expected);
    });
  }

  it('equal jitter stays below the ceiling and at or above half of it', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(1_000, 100 * 2 ** attempt);
      for (const random of [0, 0.25, 0.5, 0.75, 1 - Number.EPSILON]) {
        const delay = backoffDelay(attempt, random, base);
        assert.ok(delay >= ceiling / 2 && delay < ceiling, `attempt ${attempt}, random ${random}: ${delay}`);
      }
    }
  });
});
