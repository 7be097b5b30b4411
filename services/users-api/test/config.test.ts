import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { UsersApiErrorCode, isConfigError } from '../src/errors.ts';

function problems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(isConfigError(err));
    assert.equal(err.code, UsersApiErrorCode.CONFIG);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('loadConfig', () => {
  it('file mode with defaults: init container, port 8080, seed names', () => {
    const config = loadConfig({ CREDENTIALS_MODE: 'file', DB_HOST: 'postgres.db.svc' });
    assert.deepEqual(config.credentials, { mode: 'file', path: '/vault/secrets/db-creds.json', refresh: 'none' });
    assert.deepEqual(config.listen, { host: '0.0.0.0', port: 8080 });
    assert.deepEqual(config.database, { host: 'postgres.db.svc', port: 5432, name: 'postgres', poolMax: 10, sslRootCert: undefined });
    assert.equal(config.pod, undefined);
  });

  it('vault mode defaults to kubernetes auth with the seed role names', () => {
    const config = loadConfig({ CREDENTIALS_MODE: 'vault', DB_HOST: 'db', VAULT_ADDR: 'https://vault.vault.svc:8200', POD_NAME: 'p', POD_NAMESPACE: 'app' });
    assert.deepEqual(config.credentials, {
      mode: 'vault',
      address: 'https://vault.vault.svc:8200',
      caCertPath: undefined,
      dbMount: 'database',
      dbRole: 'db-reader-role',
      auth: { method: 'kubernetes', mount: 'kubernetes', role: 'app-creds-reader-role', jwtPath: '/var/run/secrets/kubernetes.io/serviceaccount/token' },
    });
    assert.deepEqual(config.pod, { name: 'p', namespace: 'app' });
  });

  it('reports every problem at once, naming the variables', () => {
    const found = problems({ CREDENTIALS_MODE: 'vault', PORT: 'eighty', DB_PORT: '70000', VAULT_AUTH_METHOD: 'approle', LOG_LEVEL: 'loud', POD_NAME: 'x' });
    const text = found.join('\n');
    for (const name of ['DB_HOST', 'PORT', 'DB_PORT', 'VAULT_ADDR', 'VAULT_ROLE_ID', 'VAULT_SECRET_ID', 'LOG_LEVEL', 'POD_NAMESPACE']) {
      assert.match(text, new RegExp(name), `expected a problem about ${name}`);
    }
    assert.equal(found.length, 8);
  });

  it('requires a known credential mode', () => {
    assert.match(problems({ DB_HOST: 'db' }).join(), /CREDENTIALS_MODE is required: one of file, vault, static/);
    assert.match(problems({ DB_HOST: 'db', CREDENTIALS_MODE: 'env' }).join(), /CREDENTIALS_MODE must be one of file, vault, static, got "env"/);
  });

  it('rejects a VAULT_ADDR that is not an http(s) URL', () => {
    assert.match(problems({ DB_HOST: 'db', CREDENTIALS_MODE: 'vault', VAULT_ADDR: 'vault:8200', VAULT_AUTH_METHOD: 'token', VAULT_TOKEN: 't' }).join(), /VAULT_ADDR must be an http\(s\) URL/);
  });

  it('keeps secrets out of problems, enumeration and inspection', () => {
    const password = 'pw-a1b2c3-SECRET';
    const config = loadConfig({ CREDENTIALS_MODE: 'static', DB_HOST: 'db', DB_USER: 'dev', DB_PASSWORD: password });
    assert.ok(config.credentials.mode === 'static');
    assert.equal(config.credentials.password, password);
    assert.doesNotMatch(JSON.stringify(config), /SECRET/);
    assert.doesNotMatch(inspect(config, { depth: 10 }), /SECRET/);
    const token = loadConfig({ CREDENTIALS_MODE: 'vault', DB_HOST: 'db', VAULT_ADDR: 'http://127.0.0.1:8200', VAULT_AUTH_METHOD: 'token', VAULT_TOKEN: 'hvs.SECRET' });
    assert.doesNotMatch(JSON.stringify(token), /SECRET/);
    const bad = problems({ CREDENTIALS_MODE: 'static', DB_HOST: 'db', DB_PASSWORD: password, PORT: 'x' });
    assert.doesNotMatch(bad.join(), /SECRET/);
  });

  it('bounds numeric settings', () => {
    assert.match(problems({ CREDENTIALS_MODE: 'file', DB_HOST: 'db', BODY_LIMIT_BYTES: '10' }).join(), /BODY_LIMIT_BYTES must be an integer from 1024/);
    assert.match(problems({ CREDENTIALS_MODE: 'file', DB_HOST: 'db', SHUTDOWN_DELAY_MS: '-1' }).join(), /SHUTDOWN_DELAY_MS/);
    assert.equal(loadConfig({ CREDENTIALS_MODE: 'file', DB_HOST: 'db', PORT: '0' }).listen.port, 0);
  });
});
