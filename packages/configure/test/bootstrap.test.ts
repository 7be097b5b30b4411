// configure's own identity: the bootstrap subset the unsealer applies with the initial root
// token, and --prune never deleting the role, policy and auth mount configure logs in with.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapSelection, CONFIGURE_POLICY, CONFIGURE_ROLE, parseConfig, planChanges } from '../src/index.ts';
import type { Change } from '../src/index.ts';
import { emptyLiveState } from '../src/live.ts';

const text = `auth:
  - path: ci
    type: approle
    roles:
      - name: deployer
        token_policies: [app-policy]
  - path: kubernetes
    type: kubernetes
    config:
      kubernetes_host: https://k8s:443
      token_reviewer_jwt: { fromEnv: REVIEWER_JWT }
    roles:
      - name: reader
        bound_service_account_names: [app-auth]
        bound_service_account_namespaces: [app]
        token_policies: [app-policy]
      - name: rotor-configure
        bound_service_account_names: [vault-configure]
        bound_service_account_namespaces: [vault]
        token_policies: [rotor-configure]
        token_ttl: 15m
policies:
  - name: app-policy
    file: policies/missing.hcl
  - name: rotor-configure
    rules: |
      path "sys/mounts" { capabilities = ["read"] }
secrets:
  - path: database
    type: database
    connections:
      - name: postgres
        plugin_name: postgresql-database-plugin
        connection_url: postgresql://{{username}}:{{password}}@db:5432/postgres
        allowed_roles: [reader]
        username: postgres
        password: { fromEnv: PG_ROOT_PASSWORD }
    roles:
      - name: reader
        db_name: postgres
        creation_statements: ['CREATE ROLE "{{name}}";']
`;

const active = (changes: Change[]): string[] => changes.filter((c) => c.op !== 'unchanged').map((c) => `${c.op} ${c.id}`);

describe('configure bootstrap and its own identity', () => {
  it('the bootstrap subset is the auth method with the rotor-configure role and its policy; the rest is never read', () => {
    // No PG_ROOT_PASSWORD and an unreadable app-policy file: both belong to the part left out.
    const desired = parseConfig(text, 'vault.yaml', { env: { REVIEWER_JWT: 'jwt' }, select: bootstrapSelection() });
    const plan = planChanges(desired, emptyLiveState(), { prune: false });
    assert.deepEqual(active(plan.changes), [
      'create sys/auth/kubernetes',
      'create auth/kubernetes/config',
      'create sys/policies/acl/rotor-configure',
      'create auth/kubernetes/role/rotor-configure',
    ]);
    assert.equal(CONFIGURE_ROLE, 'rotor-configure');
    assert.equal(CONFIGURE_POLICY, 'rotor-configure');
  });

  it('reports problems of the subset at their place in the whole file', () => {
    assert.throws(() => parseConfig(text, 'vault.yaml', { env: {}, select: bootstrapSelection() }), (err: Error) => /vault\.yaml:11:38: environment variable REVIEWER_JWT is not set/.test(err.message));
  });

  it('refuses a file without the role', () => {
    assert.throws(() => parseConfig(text.replaceAll('name: rotor-configure', 'name: other'), 'vault.yaml', { env: { REVIEWER_JWT: 'jwt' }, select: bootstrapSelection() }), {
      code: 'CONFIGURE_INVALID',
      message: /no auth method of the configuration declares the role "rotor-configure"/,
    });
  });

  it('--prune never deletes the rotor-configure policy and role, nor the auth mount the applying token logged in through', () => {
    const desired = parseConfig('policies:\n  - name: p\n    rules: |\n      path "x" { capabilities = ["read"] }\n', 'vault.yaml', { env: {} });
    const live = emptyLiveState();
    live.policies.set('rotor-configure', 'path "sys/mounts" {}');
    live.policies.set('old', 'path "x" {}');
    live.authMounts.set('token', { type: 'token', tuning: {} });
    live.authMounts.set('kubernetes', { type: 'kubernetes', tuning: {} });
    live.authMounts.set('k8s-old', { type: 'kubernetes', tuning: {} });
    live.loginMount = 'kubernetes';
    assert.deepEqual(active(planChanges(desired, live, { prune: true }).changes), [
      'create sys/policies/acl/p',
      'delete sys/policies/acl/old',
      'delete sys/auth/k8s-old',
    ]);
    // Its role on a declared mount that declares other roles only.
    const withMount = parseConfig(text.replace(/ {6}- name: rotor-configure[\s\S]*?token_ttl: 15m\n/, ''), 'vault.yaml', { env: { REVIEWER_JWT: 'j', PG_ROOT_PASSWORD: 'p' }, readFile: () => 'path "x" {}' });
    const roles = emptyLiveState();
    roles.authMounts.set('kubernetes', { type: 'kubernetes', tuning: { description: '', default_lease_ttl: 0, max_lease_ttl: 0 } });
    roles.authRoles.set('kubernetes', new Map([['rotor-configure', { token_policies: ['rotor-configure'] }], ['stale', {}]]));
    const deletes = planChanges(withMount, roles, { prune: true }).changes.filter((c) => c.op === 'delete').map((c) => c.id);
    assert.ok(deletes.includes('auth/kubernetes/role/stale'));
    assert.ok(!deletes.includes('auth/kubernetes/role/rotor-configure'), deletes.join(', '));
  });
});
