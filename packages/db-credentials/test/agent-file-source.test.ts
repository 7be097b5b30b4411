// AgentFileSource on the real file system (no servers): renames, partial and
// corrupt files, init-container mode, and a clean stop.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { waitFor } from '@rotor/testbed';
import { AgentFileSource } from '../src/agent-file-source.ts';
import { CredentialMetrics } from '../src/metrics.ts';
import { isDbCredentialsError } from '../src/errors.ts';
import type { DbCredentials } from '../src/credentials.ts';
import type { RotationReason } from '../src/source.ts';

const doc = (n: number, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ username: `v-user-${n}`, password: `secret-pw-${n}-xyz`, lease_id: `database/creds/r/${n}`, lease_duration: 60, renewable: true, issued_at: 1_700_000_000, ...extra });

/** Writes like Vault Agent: temp file, then rename over the target. */
function render(dir: string, text: string): void {
  const tmp = join(dir, `.creds.json.${process.hrtime.bigint()}`);
  writeFileSync(tmp, text);
  renameSync(tmp, join(dir, 'creds.json'));
}

/** Runs `fn` the first time only; later calls get the same promise. */
function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}

/** Waits for a synchronous condition, with a deadline. */
function until(what: string, condition: () => boolean): Promise<true> {
  return waitFor(what, () => Promise.resolve(condition() ? true : undefined), { timeoutMs: 10_000, intervalMs: 20 });
}

function logCapture(): { logger: pino.Logger; text: () => string } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), text: () => lines.join('') };
}

describe('AgentFileSource', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rotor-agent-file-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('follows renames, ignores bad renders without leaking them, and stops cleanly', async () => {
    render(dir, doc(1));
    const handles = (kind: string): number => process.getActiveResourcesInfo().filter((r) => r === kind).length;
    const watchersBefore = handles('FSEventWrap');
    const timersBefore = handles('Timeout');
    const registry = new Registry();
    const logs = logCapture();
    const source = new AgentFileSource({ path: join(dir, 'creds.json'), metrics: new CredentialMetrics(registry), logger: logs.logger, debounceMs: 20 });
    const seen: [string, RotationReason][] = [];
    source.subscribe((c: DbCredentials, reason) => seen.push([c.username, reason]));
    const first = await source.start();
    // Stop even when an assertion fails, or the open watcher keeps the test process alive.
    const stopOnce = once(() => source.stop());
    try {
      assert.equal(first.username, 'v-user-1');
      assert.equal(first.expiresAt?.getTime(), (1_700_000_000 + 60) * 1000);
      assert.equal(handles('FSEventWrap'), watchersBefore + 1, 'one directory watcher');

      render(dir, doc(2));
      await until('second credentials', () => source.current().username === 'v-user-2');
      assert.deepEqual(seen, [['v-user-2', 'file-changed']]);

      const bad: [string, string][] = [
        ['partial', doc(3).slice(0, 25)],
        ['empty', ''],
        ['schema', doc(4, { password: 42 })],
      ];
      const ignored = (): number => logs.text().split('ignoring unusable credentials file').length - 1;
      for (const [name, text] of bad) {
        const before = ignored();
        render(dir, text);
        await until(`${name} render to be ignored`, () => ignored() > before);
      }
      rmSync(join(dir, 'creds.json'));
      await waitFor('all bad renders to be counted', async () => {
        const text = await registry.metrics();
        const counted = ['invalid-json', 'empty', 'invalid-schema', 'missing'].every((r) => text.includes(`rotor_db_credentials_source_errors_total{source="agent-file",reason="${r}"}`));
        return counted ? true : undefined;
      }, { timeoutMs: 10_000, intervalMs: 20 });
      assert.equal(source.current().username, 'v-user-2', 'bad renders never replace good credentials');
      assert.equal(source.current().password, 'secret-pw-2-xyz');
      assert.deepEqual(seen, [['v-user-2', 'file-changed']]);

      render(dir, doc(5));
      await until('recovery after bad renders', () => source.current().username === 'v-user-5');

      await stopOnce();
      await until('stop to close the watcher', () => handles('FSEventWrap') === watchersBefore);
      assert.ok(handles('Timeout') <= timersBefore, 'stop leaves no debounce timer');
      const log = logs.text();
      for (const n of [1, 2, 3, 4, 5]) assert.ok(!log.includes(`secret-pw-${n}-xyz`), `password ${n} leaked into logs`);
      assert.match(log, /"problem":"invalid-schema","fields":\["password"\]/);

      // Nothing keeps running: further renders are ignored, use after stop is refused.
      render(dir, doc(6));
      assert.throws(() => source.current(), (err) => isDbCredentialsError(err, 'DBCREDS_STOPPED'));
      await assert.rejects(source.stop(), (err) => isDbCredentialsError(err, 'DBCREDS_STOPPED'));
    } finally {
      await stopOnce();
    }
  });

  it('refresh re-reads the file at once, and only for the current credentials', async () => {
    render(dir, doc(10));
    const source = new AgentFileSource({ path: join(dir, 'creds.json'), watch: false });
    const first = await source.start();
    try {
      render(dir, doc(11));
      assert.equal(source.current().username, 'v-user-10', 'no watching in init-container mode');
      const delivered: string[] = [];
      source.subscribe((creds, reason) => delivered.push(`${creds.username}:${reason}`));
      await source.refresh(first);
      assert.equal(source.current().username, 'v-user-11');
      assert.deepEqual(delivered, ['v-user-11:file-changed'], 'the new credentials came by the subscription, once');
      render(dir, doc(12));
      await source.refresh(first);
      assert.equal(source.current().username, 'v-user-11', 'a stale caller causes no re-read');
      assert.equal(delivered.length, 1);
    } finally {
      await source.stop();
    }
  });

  it('refuses to start on a missing or corrupt file, without quoting it', async () => {
    for (const [content, reason] of [[undefined, 'missing'], ['{"username":"v","password":"secret-pw-9-xyz"', 'invalid-json']] as const) {
      const path = join(dir, `start-${reason}.json`);
      if (content !== undefined) writeFileSync(path, content);
      const source = new AgentFileSource({ path });
      await assert.rejects(source.start(), (err) => {
        assert.ok(isDbCredentialsError(err, 'DBCREDS_FILE_INVALID'));
        assert.equal(err.context.reason, reason);
        assert.ok(!err.message.includes('secret-pw'));
        return true;
      });
      await assert.rejects(source.stop(), (err) => isDbCredentialsError(err, 'DBCREDS_STOPPED'));
    }
  });
});
