import { CommanderError } from 'commander';
import type { Command } from 'commander';
import { CliError, ExitCode } from './exit-codes.ts';
import { createProgram } from './program.ts';

/**
 * Runs `rotor` with `argv` (user arguments only) and returns the exit code.
 * Expected failures print one clear message; only unexpected ones show a
 * stack, and only with ROTOR_DEBUG=1.
 */
export async function run(argv: readonly string[]): Promise<ExitCode> {
  const program = createProgram();
  throwInsteadOfExit(program);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ExitCode.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version "errors" are successes; commander has printed the message already.
      return err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    }
    if (err instanceof CliError) {
      process.stderr.write(`rotor: ${err.message}\n${tlsHint(err.message)}`);
      return err.exitCode;
    }
    const detail = process.env.ROTOR_DEBUG === '1' && err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`rotor: unexpected error: ${detail}\n`);
    return ExitCode.INTERNAL;
  }
}

/** Node's codes for a certificate it cannot verify: say what to do about it. */
function tlsHint(message: string): string {
  return /UNABLE_TO_VERIFY|SELF_SIGNED|CERT_UNTRUSTED|UNABLE_TO_GET_ISSUER|DEPTH_ZERO/.test(message)
    ? "rotor: Vault's certificate is not trusted: pass --ca-cert <file> or set VAULT_CACERT to the CA that signed it\n"
    : '';
}

/** Commander exits the process on its own errors; make every (sub)command throw so run() picks the code. */
function throwInsteadOfExit(command: Command): void {
  command.exitOverride();
  for (const sub of command.commands) throwInsteadOfExit(sub);
}
