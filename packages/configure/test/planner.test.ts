import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { credentialsFingerprint, parseConfig, planChanges, planToJson, renderPlan, Secret, writeCount } from '../src/index.ts';
import type { Change, LiveState } from '../src/index.ts';
import { emptyLiveState } from '../src/live.ts';

const PASSWORD = 'pg-root-secret-value';
const env = { PG_ROOT_PASSWORD: PASSWORD };
const text = `auth:
  - path: kubernetes
    type: kubernetes
    config:
      kubernetes_host: https://k8s:443
    roles:
      - name: reader
        bound_service_account_names: [app-auth]
        bound_service_account_namespaces: [app]
        token_policies: [app-policy]
        token_ttl: 1h
policies:
  - name: app-policy
    rules: |
      path "database/creds/reader" { capabilities = ["read"] }
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
        rotate_root: true
    roles:
      - name: reader
        db_name: postgres
        creation_statements: ['CREATE ROLE "{{name}}";']
        default_ttl: 1h
`;
const desired = parseConfig(text, 'vault.yaml', { env });

/** What Vault answers once `text` has been applied and the root rotated (values as Vault returns them). */
function appliedState(): LiveState {
  const live = emptyLiveState();
  live.authMounts.set('token', { type: 'token', tuning: { description: 'token based credentials', default_lease_ttl: 0, max_lease_ttl: 0 } });
  live.authMounts.set('kubernetes', { type: 'kubernetes', tuning: { description: '', default_lease_ttl: 0, max_lease_ttl: 0 } });
  live.kubernetesConfigs.set('kubernetes', { kubernetes_host: 'https://k8s:443', kubernetes_ca_cert: '', issuer: '', disable_local_ca_jwt: false, token_reviewer_jwt_set: false });
  live.authRoles.set('kubernetes', new Map([['reader', {
    bound_service_account_names: ['app-auth'], bound_service_account_namespaces: ['app'], token_policies: ['app-policy'],
    token_ttl: 3600, token_max_ttl: 0, token_period: 0, alias_name_source: 'serviceaccount_uid',
  }]]));
  live.policies.set('app-policy', 'path "database/creds/reader" { capabilities = ["read"] }\n');
  for (const path of ['sys', 'cubbyhole', 'identity']) live.secretMounts.set(path, { type: path, tuning: { description: '', default_lease_ttl: 0, max_lease_ttl: 0 } });
  live.secretMounts.set('secret', { type: 'kv', tuning: { description: '', default_lease_ttl: 0, max_lease_ttl: 0 } });
  live.secretMounts.set('database', { type: 'database', tuning: { description: '', default_lease_ttl: 0, max_lease_ttl: 0 } });
  live.connections.set('database', new Map([['postgres', {
    body: { plugin_name: 'postgresql-database-plugin', connection_url: 'postgresql://{{username}}:{{password}}@db:5432/postgres', allowed_roles: ['reader'] },
    credentialsFingerprint: credentialsFingerprint('postgres', new Secret({ fromEnv: 'X' }, PASSWORD)),
    rootRotated: true,
  }]]));
  live.databaseRoles.set('database', new Map([['reader', {
    db_name: 'postgres', creation_statements: ['CREATE ROLE "{{name}}";'], revocation_statements: [], rollback_statements: [],
    renew_statements: [], default_ttl: 3600, max_ttl: 0, credential_type: 'password',
  }]]));
  return live;
}

const active = (changes: Change[]): string[] => changes.filter((c) => c.op !== 'unchanged').map((c) => `${c.op} ${c.id}`);

describe('planner', () => {
  it('creates everything on an empty server, in dependency order', () => {
    const plan = planChanges(desired, emptyLiveState(), { prune: false });
    assert.deepEqual(active(plan.changes), [
      'create sys/auth/kubernetes',
      'create auth/kubernetes/config',
      'create sys/policies/acl/app-policy',
      'create sys/mounts/database',
      'create database/config/postgres',
      'create database/roles/reader',
      'create auth/kubernetes/role/reader',
    ]);
    const connection = plan.changes.find((c) => c.id === 'database/config/postgres');
    assert.deepEqual(connection?.actions.map((a) => a.path), ['database/config/postgres', 'database/rotate-root/postgres', 'database/config/postgres']);
    assert.equal(writeCount(plan), 9);
  });

  it('plans no write when Vault already matches, whatever order and units Vault answers in', () => {
    const plan = planChanges(desired, appliedState(), { prune: true });
    assert.deepEqual(active(plan.changes), []);
    assert.equal(writeCount(plan), 0);
  });

  it('plans exactly one write for one changed TTL', () => {
    const changed = parseConfig(text.replace('default_ttl: 1h', 'default_ttl: 2h'), 'vault.yaml', { env });
    const plan = planChanges(changed, appliedState(), { prune: false });
    assert.deepEqual(active(plan.changes), ['update database/roles/reader']);
    const [update] = plan.changes.filter((c) => c.op === 'update');
    assert.deepEqual(update?.fields, [{ field: 'default_ttl', from: 3600, to: 7200 }]);
    assert.equal(writeCount(plan), 1);
  });

  it('deletes undeclared resources only with prune, never built-ins or unmanaged mount types, and last', () => {
    const live = appliedState();
    live.databaseRoles.get('database')?.set('old', { db_name: 'postgres' });
    live.policies.set('old-policy', 'path "x" {}');
    live.authMounts.set('ci', { type: 'approle', tuning: {} });
    assert.deepEqual(active(planChanges(desired, live, { prune: false }).changes), []);
    const changed = parseConfig(text.replace('default_ttl: 1h', 'default_ttl: 2h'), 'vault.yaml', { env });
    assert.deepEqual(active(planChanges(changed, live, { prune: true }).changes), [
      'update database/roles/reader',
      'delete database/roles/old',
      'delete sys/policies/acl/old-policy',
      'delete sys/auth/ci',
    ]);
  });

  it('rotates a connection whose marker says not rotated, without sending the password', () => {
    const live = appliedState();
    const connection = live.connections.get('database')?.get('postgres');
    assert.ok(connection);
    connection.rootRotated = false;
    const plan = planChanges(desired, live, { prune: false });
    assert.deepEqual(active(plan.changes), ['rotate database/config/postgres']);
    const [rotate] = plan.changes.filter((c) => c.op === 'rotate');
    assert.deepEqual(rotate?.actions.map((a) => [a.path, a.body]), [
      ['database/rotate-root/postgres', undefined],
      ['database/config/postgres', { rotor_root_rotated: 'true', verify_connection: true }],
    ]);
  });

  it('never sends the file password to a rotated connection whose readable fields changed', () => {
    const changed = parseConfig(text.replace('allowed_roles: [reader]', 'allowed_roles: [reader, "*"]'), 'vault.yaml', { env });
    const plan = planChanges(changed, appliedState(), { prune: false });
    const [update] = plan.changes.filter((c) => c.op === 'update');
    assert.equal(update?.id, 'database/config/postgres');
    assert.equal(update.actions.length, 1);
    assert.deepEqual(Object.keys(update.actions[0]?.body ?? {}).sort(), ['allowed_roles', 'connection_url', 'plugin_name', 'verify_connection']);
  });

  it('writes and rotates again when the operator changes the root credentials', () => {
    const plan = planChanges(parseConfig(text, 'vault.yaml', { env: { PG_ROOT_PASSWORD: 'new-root-password' } }), appliedState(), { prune: false });
    const [update] = plan.changes.filter((c) => c.op !== 'unchanged');
    assert.equal(update?.reason, 'root credentials changed in the file');
    assert.deepEqual(update.actions.map((a) => a.path), ['database/config/postgres', 'database/rotate-root/postgres', 'database/config/postgres']);
    assert.ok(update.actions[0]?.body?.password instanceof Secret);
  });

  it('refuses to re-type an existing mount', () => {
    const live = appliedState();
    live.secretMounts.set('database', { type: 'kv', tuning: {} });
    assert.throws(() => planChanges(desired, live, { prune: true }), { code: 'CONFIGURE_CONFLICT' });
  });

  it('renders without secret values, with colour only when asked', () => {
    const plan = planChanges(desired, emptyLiveState(), { prune: false });
    const plain = renderPlan(plan, { color: false });
    assert.match(plain, /password: \(secret, from env PG_ROOT_PASSWORD\)/);
    assert.match(plain, /default_ttl: 1h/);
    assert.equal(plain.includes('\u001b['), false);
    assert.ok(renderPlan(plan, { color: true }).includes('\u001b[32m+ create'));
    for (const out of [plain, JSON.stringify(planToJson(plan))]) assert.equal(out.includes(PASSWORD), false);
    assert.match(renderPlan(planChanges(desired, appliedState(), { prune: false }), { color: false }), /^No changes/);
  });

  it('detects the write-only reviewer JWT by presence, and sends it only as a Secret', () => {
    const withJwt = parseConfig(text.replace('kubernetes_host: https://k8s:443', 'kubernetes_host: https://k8s:443\n      token_reviewer_jwt: { fromEnv: REVIEWER_JWT }'), 'vault.yaml', {
      env: { ...env, REVIEWER_JWT: 'reviewer-jwt-value' },
    });
    const [update] = planChanges(withJwt, appliedState(), { prune: false }).changes.filter((c) => c.op !== 'unchanged');
    assert.equal(update?.id, 'auth/kubernetes/config');
    assert.deepEqual(update.fields.map((f) => f.field), ['token_reviewer_jwt']);
    assert.ok(update.actions[0]?.body?.token_reviewer_jwt instanceof Secret);
    const live = appliedState();
    const config = live.kubernetesConfigs.get('kubernetes');
    assert.ok(config);
    config.token_reviewer_jwt_set = true;
    assert.equal(writeCount(planChanges(withJwt, live, { prune: false })), 0);
    assert.deepEqual(active(planChanges(desired, live, { prune: false }).changes), ['update auth/kubernetes/config']);
  });
});
