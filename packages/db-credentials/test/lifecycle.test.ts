import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { isDbCredentialsError } from '../src/errors.ts';
import { Lifecycle } from '../src/lifecycle.ts';
import { CredentialMetrics } from '../src/metrics.ts';
import { Listeners } from '../src/source.ts';
import { createDbCredentials } from '../src/credentials.ts';

type Step = 'start' | 'stop' | 'use';

function run(lifecycle: Lifecycle, step: Step): string {
  try {
    if (step === 'start') {
      lifecycle.beginStart();
      lifecycle.endStart(true);
    } else if (step === 'stop') {
      lifecycle.beginStop();
      lifecycle.endStop();
    } else {
      lifecycle.assertRunning('use');
    }
    return 'ok';
  } catch (err) {
    assert.ok(isDbCredentialsError(err));
    return err.code;
  }
}

describe('Lifecycle', () => {
  const cases: { steps: Step[]; want: string[] }[] = [
    { steps: ['use'], want: ['DBCREDS_NOT_STARTED'] },
    { steps: ['stop'], want: ['DBCREDS_NOT_STARTED'] },
    { steps: ['start', 'use', 'stop'], want: ['ok', 'ok', 'ok'] },
    { steps: ['start', 'start'], want: ['ok', 'DBCREDS_ALREADY_STARTED'] },
    { steps: ['start', 'stop', 'stop'], want: ['ok', 'ok', 'DBCREDS_STOPPED'] },
    { steps: ['start', 'stop', 'use'], want: ['ok', 'ok', 'DBCREDS_STOPPED'] },
    { steps: ['start', 'stop', 'start'], want: ['ok', 'ok', 'DBCREDS_STOPPED'] },
  ];
  for (const c of cases) {
    it(c.steps.join(' -> '), () => {
      const lifecycle = new Lifecycle('thing');
      assert.deepEqual(c.steps.map((s) => run(lifecycle, s)), c.want);
    });
  }

  it('a failed start leaves the object stopped', () => {
    const lifecycle = new Lifecycle('thing');
    lifecycle.beginStart();
    lifecycle.endStart(false);
    assert.equal(run(lifecycle, 'use'), 'DBCREDS_STOPPED');
    assert.equal(run(lifecycle, 'start'), 'DBCREDS_STOPPED');
  });
});

describe('Listeners', () => {
  const creds = createDbCredentials({ username: 'u', password: 'p' });

  it('delivers to each subscriber, survives a throwing one, and unsubscribes', () => {
    const errors: unknown[] = [];
    const listeners = new Listeners((err) => errors.push(err));
    const seen: string[] = [];
    const offA = listeners.add(() => seen.push('a'));
    listeners.add(() => {
      throw new Error('boom');
    });
    listeners.add((c, reason) => seen.push(`${c.username}:${reason}`));
    listeners.emit(creds, 'file-changed');
    offA();
    listeners.emit(creds, 'auth-failure');
    assert.deepEqual(seen, ['a', 'u:file-changed', 'u:auth-failure']);
    assert.equal(errors.length, 2);
  });
});

describe('CredentialMetrics', () => {
  it('registers on the given registry and sums pool stats at scrape time', async () => {
    const registry = new Registry();
    const metrics = new CredentialMetrics(registry);
    const untrackA = metrics.trackPool(() => ({ total: 3, idle: 1, waiting: 0 }));
    metrics.trackPool(() => ({ total: 2, idle: 2, waiting: 4 }));
    metrics.setExpiry('vault-lease', new Date(1_700_000_000_000));
    metrics.rotations.inc({ reason: 'renewal-truncated' });
    let text = await registry.metrics();
    assert.match(text, /rotor_db_pool_connections\{state="total"\} 5/);
    assert.match(text, /rotor_db_pool_connections\{state="waiting"\} 4/);
    assert.match(text, /rotor_db_credentials_expiry_timestamp_seconds\{source="vault-lease"\} 1700000000/);
    assert.match(text, /rotor_db_credentials_rotations_total\{reason="renewal-truncated"\} 1/);
    untrackA();
    text = await registry.metrics();
    assert.match(text, /rotor_db_pool_connections\{state="total"\} 2/);
  });

  it('two instances on separate registries do not collide', () => {
    assert.doesNotThrow(() => [new CredentialMetrics(), new CredentialMetrics()]);
  });
});
