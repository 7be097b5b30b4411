import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDbCredentialsError } from '../../src/errors.ts';
import { StaticSource } from '../../src/service-kit/static-source.ts';

const code = (err: unknown): string => (isDbCredentialsError(err) ? err.code : String(err));

describe('StaticSource', () => {
  it('hands out its fixed credentials while running', async () => {
    const source = new StaticSource('dev', 'dev-password');
    const creds = await source.start();
    assert.equal(creds.username, 'dev');
    assert.equal(source.current(), creds);
    await source.refresh();
    assert.equal(source.current(), creds, 'a refresh changes nothing');
    await source.stop();
  });

  it('keeps the sources\' lifecycle: no use before start or after stop, no second start or stop', async () => {
    const source = new StaticSource('dev', 'dev-password');
    assert.throws(() => source.current(), (err) => code(err) === 'DBCREDS_NOT_STARTED');
    await assert.rejects(source.stop(), (err) => code(err) === 'DBCREDS_NOT_STARTED');
    await source.start();
    await assert.rejects(source.start(), (err) => code(err) === 'DBCREDS_ALREADY_STARTED');
    await source.stop();
    assert.throws(() => source.current(), (err) => code(err) === 'DBCREDS_STOPPED');
    await assert.rejects(source.refresh(), (err) => code(err) === 'DBCREDS_STOPPED');
    await assert.rejects(source.stop(), (err) => code(err) === 'DBCREDS_STOPPED');
    await assert.rejects(source.start(), (err) => code(err) === 'DBCREDS_STOPPED');
  });
});
