import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { VaultClient } from '@rotor/vault-client';
import { CliError, ExitCode } from './exit-codes.ts';

export interface VaultOptions {
  address?: string;
  tokenFile?: string;
}

/** Adds --address and --token-file; the token itself is never an option (it would show in `ps`). */
export function withVaultOptions(command: Command): Command {
  return command
    .option('--address <url>', 'Vault address (default: $VAULT_ADDR or $BAO_ADDR)')
    .option('--token-file <path>', 'file holding the Vault token (default: $VAULT_TOKEN or $BAO_TOKEN)');
}

export function vaultClient(options: VaultOptions, env: NodeJS.ProcessEnv = process.env): VaultClient {
  const address = options.address ?? env.VAULT_ADDR ?? env.BAO_ADDR;
  if (!address) throw new CliError(ExitCode.USAGE, 'no Vault address: pass --address or set VAULT_ADDR');
  let token = env.VAULT_TOKEN ?? env.BAO_TOKEN;
  if (options.tokenFile !== undefined) {
    try {
      token = readFileSync(options.tokenFile, 'utf8').trim();
    } catch (cause) {
      throw new CliError(ExitCode.USAGE, `cannot read --token-file ${options.tokenFile}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  if (!token) throw new CliError(ExitCode.USAGE, 'no Vault token: set VAULT_TOKEN or pass --token-file');
  return new VaultClient({ address, token });
}
