// deploy/overlays/testbed may change only what the testbed's machine needs: its copy of the
// Vault configuration must equal deploy/vault/config.yaml but for the database roles' TTLs.
// deploy/overlays/production's copy differs only in the connection's TLS (sslmode=verify-full).
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';

const read = (path: string): Record<string, unknown> => parse(readFileSync(new URL(`../../deploy/${path}`, import.meta.url), 'utf8')) as Record<string, unknown>;

interface Config {
  secrets?: { roles?: Record<string, unknown>[]; connections?: Record<string, unknown>[] }[];
}

function connectionUrls(config: Config): unknown[] {
  return (config.secrets ?? []).flatMap((m) => (m.connections ?? []).map((c) => c.connection_url));
}

function withoutConnectionUrls(config: Config): Config {
  const copy = structuredClone(config);
  for (const mount of copy.secrets ?? []) for (const c of mount.connections ?? []) delete c.connection_url;
  return copy;
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

  it('production: the same configuration, Vault verifying PostgreSQL\'s certificate (verify-full, the mounted CA)', () => {
    const base = read('vault/config.yaml') as Config;
    const production = read('overlays/production/config.yaml') as Config;
    assert.deepEqual(withoutConnectionUrls(production), withoutConnectionUrls(base));
    const urls = connectionUrls(production);
    assert.ok(urls.length > 0);
    for (const url of urls) assert.match(String(url), /^postgresql:\/\/\{\{username\}\}:\{\{password\}\}@postgres\.db\.svc:5432\/\w+\?sslmode=verify-full&sslrootcert=\/openbao\/tls\/ca\.crt$/);
    assert.deepEqual(connectionUrls(base).map((u) => String(u).replace('sslmode=disable', 'sslmode=verify-full&sslrootcert=/openbao/tls/ca.crt')), urls);
  });
});
