import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { TestbedError } from './errors.ts';

/** Where testbed/build.sh keeps the binaries it builds: outside git, reused across runs. */
export function cacheDir(): string {
  return process.env.ROTOR_CACHE_DIR ?? join(homedir(), '.cache', 'rotor');
}

function cachedBinary(envVar: string, name: string): string {
  const path = process.env[envVar] ?? join(cacheDir(), 'bin', name);
  if (!existsSync(path)) {
    throw new TestbedError(
      'TESTBED_NO_BINARY',
      `${name} not found at ${path}: run "npm run testbed:build" (or set ${envVar})`,
    );
  }
  return path;
}

/** The OpenBao server/CLI built from its Go module by testbed/build.sh. */
export function openBaoBinary(): string {
  return cachedBinary('ROTOR_BAO_BIN', 'bao');
}

/** HashiCorp Vault's server/CLI built from its Go module by testbed/build.sh (target vault). */
export function vaultBinary(): string {
  return cachedBinary('ROTOR_VAULT_BIN', 'vault');
}

/** PostgreSQL's server binaries directory (Debian keeps them off PATH). */
export function postgresBinDir(): string {
  const fromEnv = process.env.ROTOR_PG_BINDIR;
  if (fromEnv) return fromEnv;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined) {
    throw new TestbedError(
      'TESTBED_NO_BINARY',
      'PostgreSQL server not found under /usr/lib/postgresql: install Debian\'s "postgresql" package (or set ROTOR_PG_BINDIR)',
    );
  }
  return join(root, newest, 'bin');
}

/** Prometheus and promtool, built from their Go module by testbed/build.sh (target prometheus). */
export function prometheusBinary(): string {
  return cachedBinary('ROTOR_PROMETHEUS_BIN', 'prometheus');
}

export function promtoolBinary(): string {
  return cachedBinary('ROTOR_PROMTOOL_BIN', 'promtool');
}

/** Alertmanager, built from the same Go module as Prometheus (target alertmanager). */
export function alertmanagerBinary(): string {
  return cachedBinary('ROTOR_ALERTMANAGER_BIN', 'alertmanager');
}
