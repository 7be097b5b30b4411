import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../src/logger.ts';
import { RequestLogger } from '../src/request-logger.ts';

/** A pino logger at `level` whose lines land in the returned array. */
function capture(level: string): { logger: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger(level, sink), lines };
}

describe('RequestLogger', () => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  it("writes the request's bindings and a valid traceparent on every line", () => {
    const { logger, lines } = capture('debug');
    const log = new RequestLogger(logger, { requestId: 'r-1' }, {}, traceparent);
    log.info({ route: '/users/:id' }, 'first');
    log.debug('second');
    log.trace('not at this level');
    assert.deepEqual(lines.map((l) => [l.msg, l.requestId, l.traceparent, l.service]), [
      ['first', 'r-1', traceparent, 'users-api'],
      ['second', 'r-1', traceparent, 'users-api'],
    ]);
    assert.equal(lines[0]?.route, '/users/:id');
  });

  it('leaves out an invalid traceparent', () => {
    const { logger, lines } = capture('info');
    new RequestLogger(logger, { requestId: 'r-2' }, {}, '00-00000000000000000000000000000000-00f067aa0ba902b7-01').warn('forged');
    new RequestLogger(logger, { requestId: 'r-3' }, {}, undefined).error('none');
    assert.deepEqual(lines.map((l) => [l.requestId, 'traceparent' in l]), [['r-2', false], ['r-3', false]]);
  });

  it("reports the parent's level until a child sets its own, and makes children with the request's bindings", () => {
    const { logger, lines } = capture('info');
    const log = new RequestLogger(logger, { requestId: 'r-4' }, {}, traceparent);
    assert.equal(log.level, 'info');
    log.level = 'debug';
    assert.equal(log.level, 'debug');
    assert.equal(logger.level, 'info');
    log.child({ step: 'x' }).debug('from a child');
    assert.deepEqual(lines.map((l) => [l.msg, l.requestId, l.step, l.traceparent]), [['from a child', 'r-4', 'x', traceparent]]);
  });

  it('still redacts secrets', () => {
    const { logger, lines } = capture('info');
    new RequestLogger(logger, { requestId: 'r-5' }, {}, undefined).info({ password: 'hunter2' }, 'oops');
    assert.equal(JSON.stringify(lines).includes('hunter2'), false);
  });
});
