import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchema, isConfigureError, loadConfig, parseConfig, Secret } from '../src/index.ts';
import type { ConfigIssue } from '../src/index.ts';

const env = { PG_ROOT_PASSWORD: 'pg-root-secret-value' };

/** The issues parseConfig reports for `text`, as "line:col message". */
function problems(text: string, options: Parameters<typeof parseConfig>[2] = { env }): string[] {
  try {
    parseConfig(text, 'vault.yaml', options);
  } catch (err) {
    assert.ok(isConfigureError(err), String(err));
    assert.equal(err.code, 'CONFIGURE_INVALID');
    assert.ok(!err.message.includes('pg-root-secret-value'));
    return err.issues.map((i: ConfigIssue) => `${i.line}:${i.col} ${i.message}`);
  }
  assert.fail('expected the config to be rejected');
}

const valid = `secrets:
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
        creation_statements: CREATE ROLE "{{name}}";
        default_ttl: 1h30m
`;

describe('loader', () => {
  it('resolves secrets, durations and statement lists', () => {
    const config = parseConfig(valid, 'vault.yaml', { env });
    const connection = config.connections[0]?.items[0];
    assert.ok(connection?.password instanceof Secret);
    assert.equal(connection.password.reveal(), 'pg-root-secret-value');
    assert.equal(JSON.stringify(connection).includes('pg-root-secret-value'), false);
    assert.deepEqual(config.databaseRoles[0]?.items[0]?.body, { db_name: 'postgres', creation_statements: ['CREATE ROLE "{{name}}";'], default_ttl: 5400 });
  });

  it('reports unknown keys at the key itself', () => {
    assert.deepEqual(problems(valid.replace('        default_ttl: 1h30m', '        default_tll: 1h30m')), ['15:9 unknown key "default_tll"']);
  });

  it('reports bad TTLs and plaintext secrets at their values', () => {
    const text = valid.replace('default_ttl: 1h30m', 'default_ttl: one hour').replace('{ fromEnv: PG_ROOT_PASSWORD }', 'hunter2');
    assert.deepEqual(problems(text), [
      '10:19 plaintext secrets are not allowed: use { fromEnv: NAME } or { fromFile: PATH }',
      '15:22 a duration like "90s", "15m", "1h", "7d" or whole seconds',
    ]);
  });

  it('refuses a password written into connection_url', () => {
    assert.deepEqual(problems(valid.replace('{{username}}:{{password}}@', 'postgres:hunter2@')), [
      '7:25 plaintext secrets are not allowed: write {{password}} in connection_url and set password: { fromEnv: NAME }',
    ]);
  });

  it('reports references to undeclared connections, roles and policies', () => {
    const text = `${valid.replace('db_name: postgres', 'db_name: pg').replace('[reader]', '[reader, ghost]')}auth:
  - path: approle
    type: approle
    roles:
      - name: ci
        token_policies: [default, missing-policy]
`;
    assert.deepEqual(problems(text), [
      '8:33 role "ghost" is not declared in roles of database',
      '13:18 connection "pg" is not declared in connections of database',
      '21:35 policy "missing-policy" is not declared in policies',
    ]);
  });

  it('refuses built-ins and duplicates', () => {
    const text = `policies:
  - name: default
    rules: 'path "x" { capabilities = ["read"] }'
  - name: p
    rules: x
  - name: p
    rules: y
auth:
  - path: token
    type: approle
`;
    assert.deepEqual(problems(text), [
      '2:11 "default" is a built-in policy and cannot be managed',
      '6:11 policy "p" is declared twice',
      '9:11 "token" is a built-in auth method and cannot be managed',
    ]);
  });

  it('reports a missing environment variable at its reference', () => {
    assert.deepEqual(problems(valid, { env: {} }), ['10:30 environment variable PG_ROOT_PASSWORD is not set']);
  });

  it('reports YAML syntax errors with their position', () => {
    const [first] = problems('policies:\n  - name: a\n    rules: x\n    rules: y\n');
    assert.match(first ?? '', /^4:5 /);
  });

  it('reads policy and secret files relative to the config file', () => {
    const files: Record<string, string> = { '/cfg/p.hcl': 'path "a" {}\n', '/cfg/secrets/pw': 'from-file\n' };
    const readFile = (path: string): string => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      return text;
    };
    const text = `policies:\n  - name: p\n    file: p.hcl\n${valid.replace('{ fromEnv: PG_ROOT_PASSWORD }', '{ fromFile: secrets/pw }').replace('secrets:\n', 'secrets:\n')}`;
    const config = parseConfig(text, '/cfg/vault.yaml', { env: {}, readFile });
    assert.equal(config.policies[0]?.rules, 'path "a" {}\n');
    assert.equal(config.connections[0]?.items[0]?.password.reveal(), 'from-file');
    const missing = text.replace('file: p.hcl', 'file: nope.hcl');
    assert.throws(() => parseConfig(missing, '/cfg/vault.yaml', { env: {}, readFile }), /3:11: cannot read nope\.hcl: ENOENT/);
  });

  it('loads the shipped deploy/vault/config.yaml', () => {
    const file = fileURLToPath(new URL('../../../deploy/vault/config.yaml', import.meta.url));
    const config = loadConfig(file, { env });
    assert.deepEqual(config.authRoles[0]?.items.map((r) => r.name), ['app-creds-reader-role', 'app-creds-writer-role', 'rotor-configure', 'vault-snapshot']);
    assert.equal(config.connections[0]?.items[0]?.rotateRoot, true);
    assert.match(config.policies[0]?.rules ?? '', /path "database\/creds\/db-reader-role"/);
  });

  it('ships a JSON Schema that matches the zod schema', () => {
    const shipped = readFileSync(new URL('../config.schema.json', import.meta.url), 'utf8');
    assert.deepEqual(JSON.parse(shipped), configJsonSchema());
  });
});
