import { CodedError, errorGuard } from '@rotor/vault-client';

/**
 * Stable error codes of the configure package. Messages may change; codes may not.
 */
export const ConfigureErrorCode = {
  /** The file could not be read. */
  FILE: 'CONFIGURE_FILE',
  /** The file is not valid YAML, or does not match the schema or its references. */
  INVALID: 'CONFIGURE_INVALID',
  /** Live state contradicts the file in a way no plan can fix (e.g. a mount of another type). */
  CONFLICT: 'CONFIGURE_CONFLICT',
  /** Reading live state from Vault failed: nothing was written. */
  READ: 'CONFIGURE_READ',
  /** A write failed part-way through an apply. */
  APPLY: 'CONFIGURE_APPLY',
} as const;

export type ConfigureErrorCode = (typeof ConfigureErrorCode)[keyof typeof ConfigureErrorCode];

/** One problem found in a config file, at its position (1-based line and column). */
export interface ConfigIssue {
  file: string;
  line: number;
  col: number;
  message: string;
}

export function formatIssue(issue: ConfigIssue): string {
  return `${issue.file}:${issue.line}:${issue.col}: ${issue.message}`;
}

/** The one error type of the package. Messages never carry secret values. */
export class ConfigureError extends CodedError<ConfigureErrorCode, { issues: readonly ConfigIssue[] }> {
  constructor(code: ConfigureErrorCode, message: string, options: { issues?: ConfigIssue[]; cause?: unknown } = {}) {
    super(code, message, { issues: options.issues ?? [] }, { cause: options.cause });
  }

  /** For INVALID: every problem found, in file order. */
  get issues(): readonly ConfigIssue[] {
    return this.context.issues;
  }
}

export const isConfigureError = errorGuard(ConfigureError);

/** The error for a file with problems: its message lists them all as file:line:col. */
export function invalidConfig(issues: ConfigIssue[]): ConfigureError {
  const sorted = [...issues].sort((a, b) => a.line - b.line || a.col - b.col);
  const noun = sorted.length === 1 ? 'problem' : 'problems';
  return new ConfigureError(ConfigureErrorCode.INVALID, `${sorted.length} ${noun} in the configuration:\n${sorted.map(formatIssue).join('\n')}`, {
    issues: sorted,
  });
}
