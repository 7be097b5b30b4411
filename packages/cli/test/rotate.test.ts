import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { consumersOf } from '../src/rotate/consumers.ts';
import { judgeLeases, replacementAdvice } from '../src/rotate/safety.ts';

const T = Date.parse('2026-01-01T12:00:00Z');

function pod(name: string, created: number, annotations: Record<string, string> = {}, env: Record<string, string> = {}, owner?: string): V1Pod {
  return {
    metadata: { name, namespace: 'app', annotations, creationTimestamp: new Date(created), ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: owner, uid: 'u' }] } : {}) },
    spec: { containers: [{ name: 'c', env: Object.entries(env).map(([k, v]) => ({ name: k, value: v })) }] },
  };
}

const INIT = { 'vault.hashicorp.com/agent-inject': 'true', 'vault.hashicorp.com/agent-pre-populate-only': 'true', 'vault.hashicorp.com/agent-inject-secret-db-creds.json': 'database/creds/db-reader-role' };
const SIDECAR = { 'vault.hashicorp.com/agent-inject': 'true', 'vault.hashicorp.com/agent-inject-template-db-creds.json': '{{- with secret "database/creds/db-reader-role" -}}...' };

describe('consumersOf', () => {
  const pods = [
    pod('init-1', T, INIT, {}, 'users-api-5d9c7f8b6d'),
    pod('side-1', T, SIDECAR),
    pod('direct-default-role', T, {}, { CREDENTIALS_MODE: 'vault' }),
    pod('direct-other-role', T, {}, { CREDENTIALS_MODE: 'vault', VAULT_DB_ROLE: 'db-writer-role' }),
    pod('file-mode', T, {}, { CREDENTIALS_MODE: 'file' }),
    pod('agent-other-role', T, { ...INIT, 'vault.hashicorp.com/agent-inject-secret-db-creds.json': 'database/creds/db-writer-role' }),
    pod('inject-off', T, { ...INIT, 'vault.hashicorp.com/agent-inject': 'false' }),
  ];

  it('finds init-container, sidecar and direct consumers of the role, and only them', () => {
    assert.deepEqual(
      consumersOf(pods, 'database', 'db-reader-role').map((c) => [c.pod, c.mode, c.owner]),
      [['init-1', 'init-container', 'ReplicaSet users-api-5d9c7f8b6d'], ['side-1', 'sidecar', undefined], ['direct-default-role', 'direct', undefined]],
    );
    assert.deepEqual(consumersOf(pods, 'database', 'db-writer-role').map((c) => c.pod), ['direct-other-role', 'agent-other-role']);
  });
});

describe('judgeLeases', () => {
  const lease = (id: string, issued: number) => ({ role: 'db-reader-role', leaseId: id, ttl: 60, issueTime: new Date(issued) });

  it('direct consumers never block: they swap in place', () => {
    const consumers = consumersOf([pod('d', T, {}, { CREDENTIALS_MODE: 'vault' })], 'database', 'db-reader-role');
    assert.deepEqual(judgeLeases([lease('a', T + 60_000)], consumers).map((v) => v.blockers.length), [0]);
  });

  it('a pod that cannot swap blocks the leases issued after it was created, not those before', () => {
    const consumers = consumersOf([pod('init', T, INIT, {}, 'users-api-5d9c7f8b6d')], 'database', 'db-reader-role');
    const verdicts = judgeLeases([lease('older', T - 60_000), lease('newer', T + 60_000)], consumers);
    assert.deepEqual(verdicts.map((v) => [v.lease.leaseId, v.blockers.map((c) => c.pod)]), [['older', []], ['newer', ['init']]]);
    assert.deepEqual(replacementAdvice(verdicts.flatMap((v) => v.blockers)), ['kubectl -n app rollout restart deployment/users-api   (init-container pods get new credentials only when replaced)']);
  });

  it('unknown times count as blocking', () => {
    const consumers = consumersOf([pod('s', T, SIDECAR)], 'database', 'db-reader-role');
    assert.equal(judgeLeases([{ role: 'db-reader-role', leaseId: 'x', ttl: 1 }], consumers)[0]?.blockers.length, 1);
  });
});
