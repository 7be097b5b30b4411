import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MethodRoutes } from '../src/method-routes.ts';
import { requestIdFrom, traceparentFrom } from '../src/request-context.ts';

describe('requestIdFrom', () => {
  const made = () => 'generated';

  it('keeps a well-formed client id', () => {
    for (const id of ['abc', '0f8fad5b-d9cb-469f-a165-70867728950e', '01ARZ3NDEKTSV4RRFFQ69G5FAV', 'edge:1/2+3=4@x_y.z', 'x'.repeat(128)]) {
      assert.equal(requestIdFrom(id, made), id);
    }
    assert.equal(requestIdFrom('  padded  ', made), 'padded');
  });

  it('replaces an absent, repeated, empty, long or unsafe one', () => {
    for (const value of [undefined, '', '   ', 'x'.repeat(129), 'two words', 'a"b', 'line\nbreak', 'ünï', '<script>', ['a', 'b']]) {
      assert.equal(requestIdFrom(value, made), 'generated', JSON.stringify(value));
    }
    assert.equal(requestIdFrom(['only'], made), 'only');
  });

  it('generates UUIDs by default', () => {
    assert.match(requestIdFrom(undefined), /^[0-9a-f-]{36}$/);
    assert.notEqual(requestIdFrom(undefined), requestIdFrom(undefined));
  });
});

describe('traceparentFrom', () => {
  const valid = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  it('passes a valid W3C traceparent through', () => {
    assert.equal(traceparentFrom(valid), valid);
    assert.equal(traceparentFrom(` ${valid} `), valid);
  });

  it('drops malformed or invalid ones (W3C: version ff, all-zero ids, upper case)', () => {
    for (const value of [
      undefined,
      '',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7',
      `${valid}\n{"forged":true}`,
      [valid, valid],
    ]) {
      assert.equal(traceparentFrom(value), undefined, JSON.stringify(value));
    }
  });
});

describe('MethodRoutes', () => {
  const routes = new MethodRoutes();
  routes.add({ url: '/users', method: 'GET' });
  routes.add({ url: '/users', method: 'POST' });
  routes.add({ url: '/users/:id', method: ['GET', 'HEAD'] });
  routes.add({ url: '/users/:id', method: 'PUT' });
  routes.add({ url: '/a.b', method: 'GET' });

  it('lists the methods served at a path, HEAD with GET', () => {
    assert.deepEqual(routes.allowed('/users'), ['GET', 'HEAD', 'POST']);
    assert.deepEqual(routes.allowed('/users/7'), ['GET', 'HEAD', 'PUT']);
    assert.deepEqual(routes.allowed('/users/anything-in-one-segment'), ['GET', 'HEAD', 'PUT']);
  });

  it('knows nothing of other paths (404, not 405)', () => {
    for (const path of ['/', '/users/', '/users/1/delete', '/userz', '/a-b', '/aXb']) assert.equal(routes.allowed(path), undefined, path);
    assert.deepEqual(routes.allowed('/a.b'), ['GET', 'HEAD']);
  });
});
