// deploy/overlays/testbed may change only what the testbed's machine needs: its copy of the
// Vault configuration must equal deploy/vault/config.yaml but for the database roles' TTLs.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';

const read = (path: string): Record<string, unknown> => parse(readFileSync(new URL(`../../deploy/${path}`, import.meta.url), 'utf8')) as Record<string, unknown>;

interface Config {
  secrets?: { roles?: Record<string, unknown>[] }[];
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
});
