import { CodedError, errorGuard } from '@rotor/vault-client';

/**
 * Exit codes of `rotor`, stable for scripts and CI (documented in docs/cli.md).
 */
export const ExitCode = {
  OK: 0,
  /** An unexpected failure (a bug): the message, and the stack with ROTOR_DEBUG=1. */
  INTERNAL: 1,
  /** Bad command line: unknown command or option, missing argument. */
  USAGE: 2,
  /** The configuration file is unreadable or invalid: nothing was sent to Vault. */
  INVALID_CONFIG: 3,
  /** Vault could not be read, refused the token, or conflicts with the file: nothing was written. */
  VAULT: 4,
  /** Apply failed part-way: some writes were made (listed), the rest were not. */
  APPLY_FAILED: 5,
  /** A safety check refused the action: nothing was changed (rotate with consumers that cannot swap). */
  REFUSED: 6,
  /** The command ran and found something that needs attention (a sealed node, drift, orphans). */
  ATTENTION: 7,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A CliError's code: its exit code's name, e.g. CLI_VAULT for exit code 4. */
export type CliErrorCode = `CLI_${Exclude<keyof typeof ExitCode, 'OK'>}`;

const EXIT_CODE_NAMES = new Map<number, string>(Object.entries(ExitCode).map(([name, code]) => [code, name]));

/** An expected failure: the CLI prints its message (no stack) and exits with its code. */
export class CliError extends CodedError<CliErrorCode, { exitCode: ExitCode }> {
  constructor(exitCode: ExitCode, message: string, options?: ErrorOptions) {
    super(`CLI_${EXIT_CODE_NAMES.get(exitCode) ?? 'INTERNAL'}` as CliErrorCode, message, { exitCode }, options);
  }

  get exitCode(): ExitCode {
    return this.context.exitCode;
  }
}

export const isCliError = errorGuard(CliError);
