import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { credentialsConfigFromEnv, hasExactExpiry, isInitContainerMode } from '../../src/service-kit/credential-modes.ts';

describe('credential modes from the environment', () => {
  it('reads each mode and says which ones expire exactly or need an init-container exit', () => {
    const agent = credentialsConfigFromEnv({ CREDENTIALS_MODE: 'file', CREDENTIALS_REFRESH: 'agent' });
    const init = credentialsConfigFromEnv({ CREDENTIALS_MODE: 'file' });
    const vault = credentialsConfigFromEnv({ CREDENTIALS_MODE: 'vault', VAULT_ADDR: 'https://vault:8200' });
    for (const r of [agent, init, vault]) assert.deepEqual(r.problems, []);
    assert.deepEqual([agent, init, vault].map((r) => [isInitContainerMode(r.config), hasExactExpiry(r.config)]), [[false, false], [true, true], [false, true]]);
  });

  it('reports every problem at once and never echoes a secret', () => {
    const { problems } = credentialsConfigFromEnv({ CREDENTIALS_MODE: 'vault', VAULT_ADDR: 'vault:8200', VAULT_AUTH_METHOD: 'approle' });
    assert.equal(problems.length, 3, problems.join('; '));
    const { config } = credentialsConfigFromEnv({ CREDENTIALS_MODE: 'static', DB_USER: 'dev', DB_PASSWORD: 's3cret-value' });
    assert.doesNotMatch(JSON.stringify(config), /s3cret-value/);
  });
});
