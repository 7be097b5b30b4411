// deploy/overlays/testbed may change only what the testbed's machine needs: its copy of the
// Vault configuration must equal deploy/vault/config.yaml but for the database roles' TTLs.
// deploy/overlays/production has no copy: the base's connection already verifies PostgreSQL.
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';

const read = (path: string): Record<string, unknown> => parse(readFileSync(new URL(`../../deploy/${path}`, import.meta.url), 'utf8')) as Record<string, unknown>;

interface Config {
  secrets?: { roles?: Record<string, unknown>[]; connections?: Record<string, unknown>[] }[];
}

function connectionUrls(config: Config): unknown[] {
  return (config.secrets ?? []).flatMap((m) => (m.connections ?? []).map((c) => c.connection_url));
}

function withoutRoleTtls(config: Config): Config {
  const copy = structuredClone(config);
  for (const mount of copy.secrets ?? []) {
    for (const role of mount.roles ?? []) {
      delete role.default_ttl;
      delete role.max_ttl;
    }
  }
  return copy;
}

describe('the testbed overlay', () => {
  it('runs the production Vault configuration with only the database role TTLs shortened', () => {
    const production = read('vault/config.yaml') as Config;
    const testbed = read('overlays/testbed/config.yaml') as Config;
    assert.deepEqual(withoutRoleTtls(testbed), withoutRoleTtls(production));
    assert.notDeepEqual(testbed, production, 'the copy does shorten the TTLs');
  });

  it('production runs the base\'s configuration, whose connection verifies PostgreSQL\'s certificate (verify-full, the CA the Vault pods mount)', () => {
    assert.equal(existsSync(new URL('../../deploy/overlays/production/config.yaml', import.meta.url)), false, 'no production copy');
    for (const path of ['vault/config.yaml', 'overlays/testbed/config.yaml']) {
      const urls = connectionUrls(read(path));
      assert.ok(urls.length > 0, path);
      for (const url of urls) assert.match(String(url), /^postgresql:\/\/\{\{username\}\}:\{\{password\}\}@postgres\.db\.svc:5432\/\w+\?sslmode=verify-full&sslrootcert=\/openbao\/tls\/ca\.crt$/, path);
    }
  });
});
