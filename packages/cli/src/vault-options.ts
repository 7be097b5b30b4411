// How every `rotor` command finds Vault, the way Vault's own CLI does: a flag
// wins, then VAULT_* (or OpenBao's BAO_*) variables, then the token helper file
// ~/.vault-token. The token itself is never an option value (it would show in ps).
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { VaultClient, type VaultClientOptions } from '@rotor/vault-client';
import { CliError, ExitCode } from './exit-codes.ts';

export interface VaultOptions {
  address?: string;
  tokenFile?: string;
  caCert?: string;
}

/** Adds --ca-cert only: for commands that talk to Vault nodes without a token (unseal). */
export function withCaCertOption(command: Command): Command {
  return command.option('--ca-cert <file>', 'PEM CA bundle that signed Vault\'s TLS certificate (default: $VAULT_CACERT, then $BAO_CACERT)');
}

/** Adds --address, --ca-cert and --token-file. */
export function withVaultOptions(command: Command): Command {
  return withCaCertOption(
    command
      .option('--address <url>', 'Vault address (default: $VAULT_ADDR, then $BAO_ADDR)')
      .option('--token-file <path>', 'file holding the Vault token (default: $VAULT_TOKEN, then $BAO_TOKEN, then ~/.vault-token)'),
  );
}

function readFlagFile(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new CliError(ExitCode.USAGE, `cannot read ${flag} ${path}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** The CA bundle to trust, from --ca-cert, $VAULT_CACERT or $BAO_CACERT; undefined for the system roots. */
export function caCertOf(options: Pick<VaultOptions, 'caCert'>, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const [flag, path] =
    options.caCert !== undefined ? ['--ca-cert', options.caCert] : env.VAULT_CACERT ? ['VAULT_CACERT', env.VAULT_CACERT] : env.BAO_CACERT ? ['BAO_CACERT', env.BAO_CACERT] : [undefined, undefined];
  if (flag === undefined || path === undefined) return undefined;
  const pem = readFlagFile(flag, path);
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new CliError(ExitCode.USAGE, `${flag} ${path} holds no PEM certificate`);
  return pem;
}

/** Client options for one node or the cluster address; the client applies the CA to https only (vault-client's transportFor). */
export function connectionOptions(address: string, caCert: string | undefined): Pick<VaultClientOptions, 'address' | 'caCert'> {
  return { address, caCert };
}

export function vaultAddressOf(options: Pick<VaultOptions, 'address'>, env: NodeJS.ProcessEnv = process.env): string {
  const address = options.address ?? (env.VAULT_ADDR || undefined) ?? (env.BAO_ADDR || undefined);
  if (!address) throw new CliError(ExitCode.USAGE, 'no Vault address: pass --address or set VAULT_ADDR');
  if (!/^https?:\/\/[^/]+/.test(address)) throw new CliError(ExitCode.USAGE, `Vault address must be http(s)://host:port, got ${JSON.stringify(address)}`);
  return address.replace(/\/+$/, '');
}

function tokenOf(options: Pick<VaultOptions, 'tokenFile'>, env: NodeJS.ProcessEnv): string | undefined {
  if (options.tokenFile !== undefined) return readFlagFile('--token-file', options.tokenFile).trim();
  const fromEnv = (env.VAULT_TOKEN || undefined) ?? (env.BAO_TOKEN || undefined);
  if (fromEnv !== undefined) return fromEnv;
  // Vault's default token helper: `vault login` writes the token here.
  try {
    return readFileSync(join(env.HOME ?? homedir(), '.vault-token'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export function vaultClient(options: VaultOptions, env: NodeJS.ProcessEnv = process.env): VaultClient {
  const address = vaultAddressOf(options, env);
  const caCert = caCertOf(options, env);
  const token = tokenOf(options, env);
  if (!token) throw new CliError(ExitCode.USAGE, 'no Vault token: set VAULT_TOKEN, pass --token-file, or log in with `vault login` (~/.vault-token)');
  // The client applies the CA to https addresses only, as Vault's CLI does.
  return new VaultClient({ address, caCert, token });
}
