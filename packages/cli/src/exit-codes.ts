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

/** An expected failure: the CLI prints its message (no stack) and exits with its code. */
export class CliError extends Error {
  readonly exitCode: ExitCode;

  constructor(exitCode: ExitCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}
