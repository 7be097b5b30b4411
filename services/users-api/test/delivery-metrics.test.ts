import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { createDbCredentials } from '@rotor/db-credentials';
import { Registry } from 'prom-client';
import { deliveryMode, registerDeliveryMetrics, roleOfLease, rotationLeadSeconds } from '../src/delivery-metrics.ts';

const creds = (leaseId: string | undefined, leaseDuration: number, expiresAt?: Date) => createDbCredentials({ username: 'v-u', password: 'p', leaseId, leaseDuration, expiresAt });

describe('delivery metrics', () => {
  it('names the delivery mode from the credentials configuration', () => {
    assert.equal(deliveryMode({ mode: 'file', path: '/f', refresh: 'none' }), 'init-container');
    assert.equal(deliveryMode({ mode: 'file', path: '/f', refresh: 'agent' }), 'sidecar');
    assert.equal(deliveryMode({ mode: 'static', username: 'u', password: 'p' }), 'static');
    assert.equal(deliveryMode({ mode: 'vault', address: 'http://v', caCertPath: undefined, dbMount: 'database', dbRole: 'r', auth: { method: 'token', token: 't' } }), 'direct');
  });

  it('takes the role from the lease path, never the lease id', () => {
    assert.equal(roleOfLease('database/creds/db-reader-role/AbC123'), 'db-reader-role');
    assert.equal(roleOfLease('team/db/creds/orders-ro/x'), 'orders-ro');
    assert.equal(roleOfLease(undefined), 'unknown');
    assert.equal(roleOfLease('database/creds/db-reader-role'), 'unknown');
  });

  it('gives the rotation lead where the mode promises one', () => {
    const expiresAt = new Date(1_000_000);
    assert.equal(rotationLeadSeconds('init-container', creds('database/creds/r/1', 3600, expiresAt), 1_000_000 - 420_000), 420);
    assert.equal(rotationLeadSeconds('init-container', creds('database/creds/r/1', 3600, expiresAt), undefined), undefined, 'no exit planned yet');
    assert.equal(rotationLeadSeconds('init-container', creds('database/creds/r/1', 0), 500), undefined, 'unknown expiry');
    assert.equal(rotationLeadSeconds('direct', creds('database/creds/r/1', 3600, expiresAt), undefined), 1200);
    assert.equal(rotationLeadSeconds('sidecar', creds('database/creds/r/1', 3600, expiresAt), undefined), undefined, 'the agent renews unseen');
    assert.equal(rotationLeadSeconds('static', creds(undefined, 0), undefined), undefined);
  });

  it('exports them at scrape time, following the current credentials', async () => {
    const registry = new Registry();
    let current = creds('database/creds/db-reader-role/a', 3600, new Date(2_000_000));
    registerDeliveryMetrics(registry, { mode: 'direct', current: () => current, plannedExitMs: () => undefined });
    let text = await registry.metrics();
    assert.match(text, /^rotor_db_credentials_delivery_info\{mode="direct",role="db-reader-role"\} 1$/m);
    assert.match(text, /^rotor_db_credentials_rotation_lead_seconds\{mode="direct"\} 1200$/m);
    current = creds('database/creds/db-writer-role/b', 60, new Date(2_000_000));
    text = await registry.metrics();
    assert.match(text, /^rotor_db_credentials_delivery_info\{mode="direct",role="db-writer-role"\} 1$/m);
    assert.doesNotMatch(text, /db-reader-role/);
    assert.match(text, /^rotor_db_credentials_rotation_lead_seconds\{mode="direct"\} 20$/m);
  });

  it('exports no lead in sidecar mode', async () => {
    const registry = new Registry();
    registerDeliveryMetrics(registry, { mode: 'sidecar', current: () => creds('database/creds/db-writer-role/c', 3600, new Date(2_000_000)), plannedExitMs: () => undefined });
    const text = await registry.metrics();
    assert.match(text, /^rotor_db_credentials_delivery_info\{mode="sidecar",role="db-writer-role"\} 1$/m);
    assert.doesNotMatch(text, /^rotor_db_credentials_rotation_lead_seconds\{/m);
  });
});
