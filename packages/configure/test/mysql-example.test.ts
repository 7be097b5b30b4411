// docs/configure.md's MySQL example is a tested claim: it loads as written, and
// a literal password in a MySQL DSN is refused like one in a URL.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { configJsonSchema, isConfigureError, parseConfig, planChanges } from '../src/index.ts';
import { emptyLiveState } from '../src/live.ts';

const doc = readFileSync(new URL('../../../docs/configure.md', import.meta.url), 'utf8');
const example = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '').find((block) => block.includes('mysql-database-plugin'));
const env = { MYSQL_ROOT_PASSWORD: 'mysql-root-secret' };

describe('MySQL connection and role example (docs/configure.md)', () => {
  it('loads and plans as written', () => {
    assert.ok(example, 'docs/configure.md has a yaml block with mysql-database-plugin');
    const desired = parseConfig(example, 'configure.md', { env });
    assert.deepEqual(desired.connections[0]?.items[0]?.body, {
      plugin_name: 'mysql-database-plugin',
      connection_url: '{{username}}:{{password}}@tcp(mysql.db.svc:3306)/',
      allowed_roles: ['db-reader-role'],
    });
    assert.deepEqual(desired.databaseRoles[0]?.items[0]?.body.revocation_statements, [`DROP USER IF EXISTS '{{name}}'@'%';`]);
    const connection = planChanges(desired, emptyLiveState(), { prune: false }).changes.find((c) => c.kind === 'database-connection');
    assert.deepEqual(connection?.actions.map((a) => a.path), ['database/config/mysql', 'database/rotate-root/mysql', 'database/config/mysql']);
  });

  it('the JSON Schema offers MySQL next to PostgreSQL as examples for editors', () => {
    const schema = JSON.stringify(configJsonSchema());
    for (const example of ['mysql-database-plugin', '{{username}}:{{password}}@tcp(mysql.db.svc:3306)/', `CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';`]) {
      assert.ok(schema.includes(JSON.stringify(example)), example);
    }
  });

  it('refuses a literal password in the DSN, at its position', () => {
    assert.ok(example);
    const text = example.replace('"{{username}}:{{password}}@tcp', '"vault-admin:hunter2@tcp');
    assert.throws(
      () => parseConfig(text, 'configure.md', { env }),
      (err: unknown) => {
        assert.ok(isConfigureError(err));
        const line = text.split('\n').findIndex((l) => l.includes('hunter2')) + 1;
        assert.deepEqual(err.issues.map((i) => `${i.line}:${i.col} ${i.message}`), [
          `${line}:25 plaintext secrets are not allowed: write {{password}} in connection_url and set password: { fromEnv: NAME }`,
        ]);
        return true;
      },
    );
  });
});
