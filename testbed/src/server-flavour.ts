// The two servers Rotor targets, HashiCorp Vault and OpenBao, speak the same HTTP
// API; what differs for the testbed is only how each is run: its binary, the CLI
// name (`vault agent` / `bao agent`), the environment prefix its CLI reads, and
// where audit devices are declared. Everything else starts both the same way.
import { openBaoBinary, vaultBinary } from './binaries.ts';

export type ServerFlavour = 'openbao' | 'vault';

/** Both flavours, OpenBao first (the default everywhere). */
export const SERVER_FLAVOURS: readonly ServerFlavour[] = ['openbao', 'vault'];

export interface ServerFlavourTraits {
  flavour: ServerFlavour;
  /** For messages and test titles. */
  product: 'OpenBao' | 'HashiCorp Vault';
  /** The command of the binary: `bao agent`, `vault agent`; also the prefix of its temp dirs and logs. */
  command: 'bao' | 'vault';
  /** The prefix of the environment the CLI reads (BAO_ADDR / VAULT_ADDR). */
  envPrefix: 'BAO_' | 'VAULT_';
  /** The server binary built by testbed/build.sh (target openbao or vault). */
  binary(): string;
  /**
   * Where audit devices are declared. OpenBao 2.x refuses to enable them through the API
   * (sys/audit) and reads `audit` stanzas from the server config; Vault 1.21 has no such
   * stanza and enables them through the API only.
   */
  audit: 'server-config' | 'api';
}

const TRAITS: Record<ServerFlavour, ServerFlavourTraits> = {
  openbao: { flavour: 'openbao', product: 'OpenBao', command: 'bao', envPrefix: 'BAO_', binary: openBaoBinary, audit: 'server-config' },
  vault: { flavour: 'vault', product: 'HashiCorp Vault', command: 'vault', envPrefix: 'VAULT_', binary: vaultBinary, audit: 'api' },
};

export function serverFlavour(flavour: ServerFlavour = 'openbao'): ServerFlavourTraits {
  return TRAITS[flavour];
}

export function isServerFlavour(value: unknown): value is ServerFlavour {
  return value === 'openbao' || value === 'vault';
}

/** Environment for a server or agent process: none of either CLI's settings inherited, HOME in its own dir. */
export function serverEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('BAO_') && !key.startsWith('VAULT_')) env[key] = value;
  }
  env.HOME = home;
  return env;
}
