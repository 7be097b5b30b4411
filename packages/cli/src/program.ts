import { Command } from 'commander';
import { configureCommand } from './commands/configure.ts';
import { unsealCommand } from './commands/unseal.ts';

/** The `rotor` command with every subcommand registered. */
export function createProgram(): Command {
  return new Command('rotor')
    .description('Dynamic database credentials from Vault/OpenBao for Kubernetes microservices')
    .showHelpAfterError()
    .enablePositionalOptions()
    .addCommand(unsealCommand())
    .addCommand(configureCommand());
}
