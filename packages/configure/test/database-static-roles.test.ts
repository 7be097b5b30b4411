// The database static role kind, from the file to the plan: it is one file
// (src/kinds/database-static-roles.ts) and one line in KINDS.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { credentialsFingerprint, isConfigureError, KIND_ORDER, KINDS, parseConfig, planChanges, renderPlan, Secret, writeCount } from '../src/index.ts';
import type { Change, ConfigIssue } from '../src/index.ts';
import { emptyLiveState } from '../src/live.ts';

const env = { PG_ROOT_PASSWORD: 'pg-root-secret-value' };
const text = `secrets:
  - path: database
    type: database
    connections:
      - name: postgres
        plugin_name: postgresql-database-plugin
        connection_url: postgresql://{{username}}:{{password}}@db:5432/postgres
        allowed_roles: [reader, billing-batch]
        username: postgres
        password: { fromEnv: PG_ROOT_PASSWORD }
    roles:
      - name: reader
        db_name: postgres
        creation_statements: CREATE ROLE "{{name}}";
    static_roles:
      - name: billing-batch
        db_name: postgres
        username: billing_batch
        rotation_period: 1d
`;
const desired = parseConfig(text, 'vault.yaml', { env });

function problems(config: string): string[] {
  try {
    parseConfig(config, 'vault.yaml', { env });
  } catch (err) {
    assert.ok(isConfigureError(err), String(err));
    return err.issues.map((i: ConfigIssue) => `${i.line}:${i.col} ${i.message}`);
  }
  assert.fail('expected the config to be rejected');
}

/** Vault's state once `text` is applied, as Vault answers it. */
function applied(): ReturnType<typeof emptyLiveState> {
  const live = emptyLiveState();
  live.secretMounts.set('database', { type: 'database', tuning: { description: '', default_lease_ttl: 0, max_lease_ttl: 0 } });
  live.connections.set('database', new Map([['postgres', {
    body: { plugin_name: 'postgresql-database-plugin', connection_url: 'postgresql://{{username}}:{{password}}@db:5432/postgres', allowed_roles: ['reader', 'billing-batch'] },
    credentialsFingerprint: credentialsFingerprint('postgres', new Secret({ fromEnv: 'X' }, env.PG_ROOT_PASSWORD)),
    rootRotated: false,
  }]]));
  live.databaseRoles.set('database', new Map([['reader', { db_name: 'postgres', creation_statements: ['CREATE ROLE "{{name}}";'], default_ttl: 0, max_ttl: 0 }]]));
  live.staticRoles.set('database', new Map([['billing-batch', {
    db_name: 'postgres', username: 'billing_batch', rotation_period: 86400, rotation_statements: [],
    credential_type: 'password', last_vault_rotation: '2026-12-01T01:00:00Z',
  }]]));
  return live;
}

const active = (changes: Change[]): string[] => changes.filter((c) => c.op !== 'unchanged').map((c) => `${c.op} ${c.id}`);

describe('database static roles', () => {
  it('loads rotation_period as seconds and rotation_statements as a list', () => {
    const config = parseConfig(text.replace('rotation_period: 1d', 'rotation_period: 1h\n        rotation_statements: ALTER ROLE "{{name}}" PASSWORD \'{{password}}\';'), 'vault.yaml', { env });
    assert.deepEqual(config.staticRoles, [{
      path: 'database',
      type: 'database',
      items: [{ name: 'billing-batch', body: { db_name: 'postgres', username: 'billing_batch', rotation_period: 3600, rotation_statements: ['ALTER ROLE "{{name}}" PASSWORD \'{{password}}\';'] } }],
    }]);
  });

  it('reports bad static roles at file:line:col', () => {
    const bad = text
      .replace('rotation_period: 1d', 'rotation_period: 2s')
      .replace('[reader, billing-batch]', '[reader]')
      .replace('- name: billing-batch', '- name: reader')
      .replace('username: billing_batch', 'usernme: billing_batch');
    assert.deepEqual(problems(bad), ['16:9 missing key "username"', '18:9 unknown key "usernme"']);
    assert.deepEqual(problems(bad.replace('usernme', 'username')), [
      '16:15 "reader" is also a role of database: roles and static roles share names',
      '19:26 rotation_period must be at least 5s',
    ]);
    assert.deepEqual(problems(text.replace('[reader, billing-batch]', '[reader]')), ['17:18 role "billing-batch" is not in allowed_roles of connection "postgres"']);
    // And allowed_roles may name a static role: the valid text has no "not declared" problem.
  });

  it('is created after the dynamic roles and before auth roles, and is unchanged once Vault holds it', () => {
    const plan = planChanges(desired, emptyLiveState(), { prune: false });
    assert.deepEqual(active(plan.changes), [
      'create sys/mounts/database',
      'create database/config/postgres',
      'create database/roles/reader',
      'create database/static-roles/billing-batch',
    ]);
    const create = plan.changes.find((c) => c.kind === 'database-static-role');
    assert.deepEqual(create?.actions[0]?.body, { db_name: 'postgres', username: 'billing_batch', rotation_period: 86400, rotation_statements: [] });
    assert.match(renderPlan(plan, { color: false }), /rotation_period: 1d/);
    assert.equal(writeCount(planChanges(desired, applied(), { prune: true })), 0);
  });

  it('updates a changed rotation_period with one write', () => {
    const changed = parseConfig(text.replace('rotation_period: 1d', 'rotation_period: 12h'), 'vault.yaml', { env });
    const [update] = planChanges(changed, applied(), { prune: false }).changes.filter((c) => c.op !== 'unchanged');
    assert.equal(update?.id, 'database/static-roles/billing-batch');
    assert.deepEqual(update.fields, [{ field: 'rotation_period', from: 86400, to: 43200 }]);
    assert.deepEqual(update.actions.map((a) => `${a.method} ${a.path}`), ['POST database/static-roles/billing-batch']);
  });

  it('deletes and creates again a static role whose username changed (Vault refuses to change it)', () => {
    const changed = parseConfig(text.replace('username: billing_batch', 'username: billing_batch_v2'), 'vault.yaml', { env });
    const [update] = planChanges(changed, applied(), { prune: false }).changes.filter((c) => c.op !== 'unchanged');
    assert.equal(update?.reason, 'a static role cannot change its username: deleted and created again');
    assert.deepEqual(update.actions.map((a) => `${a.method} ${a.path}`), ['DELETE database/static-roles/billing-batch', 'POST database/static-roles/billing-batch']);
  });

  it('prunes undeclared static roles only with --prune, before the connections they use', () => {
    const live = applied();
    live.staticRoles.get('database')?.set('stray', { db_name: 'other', username: 'stray_user', rotation_period: 60 });
    live.connections.get('database')?.set('other', { body: {}, credentialsFingerprint: undefined, rootRotated: false });
    assert.deepEqual(active(planChanges(desired, live, { prune: false }).changes).filter((c) => c.startsWith('delete')), []);
    assert.deepEqual(active(planChanges(desired, live, { prune: true }).changes).filter((c) => c.startsWith('delete')), [
      'delete database/static-roles/stray',
      'delete database/config/other',
    ]);
  });

  it('KINDS is the one list: names, slots and order come from it', () => {
    assert.deepEqual(KIND_ORDER, KINDS.map((k) => k.name));
    assert.equal(new Set(KINDS.map((k) => k.name)).size, KINDS.length);
    assert.deepEqual(Object.keys(emptyLiveState()).sort(), KINDS.map((k) => k.slot).sort());
    assert.deepEqual(Object.keys(desired).sort(), KINDS.map((k) => k.slot).sort());
  });
});
