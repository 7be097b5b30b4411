import { Command } from 'commander';
import { configureCommand } from './commands/configure.ts';
import { leasesCommand } from './commands/leases.ts';
import { rotateCommand, rotateRootCommand } from './commands/rotate.ts';
import { scaffoldCommand } from './commands/scaffold.ts';
import { statusCommand } from './commands/status.ts';
import { tlsCommand } from './commands/tls.ts';
import { unsealCommand } from './commands/unseal.ts';
import { cliVersion } from './version.ts';

/** The `rotor` command with every subcommand registered. */
export function createProgram(): Command {
  return new Command('rotor')
    .description('Dynamic database credentials from Vault/OpenBao for Kubernetes microservices')
    .version(`rotor ${cliVersion()}`, '-V, --version', 'print the version')
    .showHelpAfterError()
    .enablePositionalOptions()
    .addHelpText(
      'after',
      `
Vault: --address, --ca-cert and --token-file, else VAULT_ADDR, VAULT_CACERT, VAULT_TOKEN
(or BAO_*), else ~/.vault-token, as Vault's own CLI. Exit codes: docs/cli.md.`,
    )
    .addCommand(statusCommand())
    .addCommand(unsealCommand())
    .addCommand(configureCommand())
    .addCommand(leasesCommand())
    .addCommand(rotateCommand())
    .addCommand(rotateRootCommand())
    .addCommand(scaffoldCommand())
    .addCommand(tlsCommand());
}
