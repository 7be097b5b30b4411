import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { duration } from '../src/commands/leases.ts';
import { pairLeases, parseUsername, type DbUser, type LeaseRecord } from '../src/leases/match.ts';

const at = (s: number): Date => new Date(s * 1000);
const T = 1_800_000_000;

function lease(role: string, id: string, issued: number, ttl = 3600): LeaseRecord {
  return { role, leaseId: `database/creds/${role}/${id}`, ttl, issueTime: at(issued), expireTime: at(issued + ttl) };
}

function user(display: string, rolePart: string, created: number, validFor = 3600): DbUser {
  return { name: `v-${display}-${rolePart}-${'A1b2C3d4E5f6G7h8I9j0'}-${created}`, validUntil: at(created + validFor) };
}

describe('parseUsername', () => {
  it('reads the role part and creation time of the default template', () => {
    assert.deepEqual(parseUsername(`v-kubernet-db-reade-zhOd64Scg1xFe2ORWQLj-1675112318`, ['db-reader-role', 'db-writer-role']), { rolePart: 'db-reade', createdAt: at(1675112318) });
    assert.deepEqual(parseUsername(`v-token-db-write-zhOd64Scg1xFe2ORWQLj-1675112318`, ['db-reader-role', 'db-writer-role'])?.rolePart, 'db-write');
    assert.equal(parseUsername('v-token-reports-zhOd64Scg1xFe2ORWQLj-1675112318', ['db-reader-role'])?.rolePart, '');
  });

  it('ignores names of other shapes', () => {
    for (const name of ['postgres', 'demo_observer', 'v-short-1675112318', 'v-token-db-reade-tooShort-1675112318']) assert.equal(parseUsername(name, ['db-reader-role']), undefined, name);
  });
});

describe('pairLeases', () => {
  it('pairs each lease with the user created in the same second, closest first', () => {
    const leases = [lease('db-reader-role', 'a', T), lease('db-reader-role', 'b', T + 1), lease('db-writer-role', 'c', T)];
    const users = [user('token', 'db-reade', T + 1), user('token', 'db-reade', T), user('token', 'db-write', T)];
    const result = pairLeases(leases, users, ['db-reader-role', 'db-writer-role'], true);
    assert.deepEqual(
      result.pairs.map((p) => [p.lease.leaseId.split('/').pop(), p.user.name.split('-').pop(), p.user.name.split('-')[2]]).sort(),
      [['a', String(T), 'db'], ['b', String(T + 1), 'db'], ['c', String(T), 'db']],
    );
    assert.deepEqual(result.leasesWithoutUser, []);
    assert.deepEqual(result.usersWithoutLease, []);
  });

  it('two users created in the same second pair by expiry (VALID UNTIL follows renewals)', () => {
    const renewed = { ...lease('db-reader-role', 'renewed', T), expireTime: at(T + 7200) };
    const fresh = lease('db-reader-role', 'fresh', T);
    const u1 = { name: `v-token-db-reade-${'x'.repeat(20)}-${T}`, validUntil: at(T + 3600) };
    const u2 = { name: `v-token-db-reade-${'y'.repeat(20)}-${T}`, validUntil: at(T + 7200) };
    const result = pairLeases([renewed, fresh], [u1, u2], ['db-reader-role'], true);
    const byLease = new Map(result.pairs.map((p) => [p.lease.leaseId.split('/').pop(), p.user]));
    assert.equal(byLease.get('renewed'), u2);
    assert.equal(byLease.get('fresh'), u1);
  });

  it('orphans both ways: a user without a lease, a lease whose user is gone', () => {
    const leases = [lease('db-reader-role', 'kept', T), lease('db-reader-role', 'dropped', T + 100)];
    const orphanUser = user('token', 'db-reade', T + 500);
    const result = pairLeases(leases, [user('token', 'db-reade', T), orphanUser], ['db-reader-role'], true);
    assert.deepEqual(result.leasesWithoutUser.map((l) => [l.leaseId, l.sameSecond]), [['database/creds/db-reader-role/dropped', 1]]);
    assert.deepEqual(result.usersWithoutLease, [{ ...orphanUser, role: 'db-reader-role' }]);
  });

  it('users made in the same second pair with leases in creation order (OID vs issue time)', () => {
    const leases3 = [0, 1, 2].map((i) => ({ ...lease('db-reader-role', `l${i}`, T), issueTime: new Date(T * 1000 + 100 * i) }));
    const users3 = [2, 0, 1].map((i) => ({ name: `v-token-db-reade-${String(i).repeat(20)}-${T}`, validUntil: at(T + 3600), oid: 16_000 + i }));
    const result = pairLeases(leases3, users3, ['db-reader-role'], true);
    assert.deepEqual(result.pairs.map((p) => [p.lease.leaseId.split('/').pop(), p.user.oid]).sort(), [['l0', 16_000], ['l1', 16_001], ['l2', 16_002]]);
    // One user of three gone: the orphan lease is flagged as a guess among its second's leases.
    const two = pairLeases(leases3, users3.filter((u) => u.oid !== 16_001), ['db-reader-role'], true);
    assert.deepEqual(two.leasesWithoutUser.map((l) => l.sameSecond), [3]);
  });

  it('with --role, users of other roles are not orphans; without, users of unknown roles are', () => {
    const other = user('token', 'reports-', T);
    assert.deepEqual(pairLeases([], [other], ['db-reader-role'], false).usersWithoutLease, []);
    assert.deepEqual(pairLeases([], [other], ['db-reader-role'], true).usersWithoutLease, [other]);
  });

  it('a user created long after the lease does not pair with it', () => {
    const result = pairLeases([lease('db-reader-role', 'a', T)], [user('token', 'db-reade', T + 10)], ['db-reader-role'], true);
    assert.equal(result.pairs.length, 0);
  });
});

describe('duration', () => {
  it('h/m/s', () => {
    assert.deepEqual([duration(0), duration(59), duration(61), duration(3600), duration(3725)], ['0s', '59s', '1m01s', '1h00m00s', '1h02m05s']);
  });
});
