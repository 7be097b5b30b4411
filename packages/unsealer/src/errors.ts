/**
 * The unsealer's error catalogue. Codes are stable (callers and exit codes key
 * on them); messages may change. No message ever carries a key or a token.
 */
export const UnsealerErrorCode = {
  /** A lifecycle call in the wrong state (start twice, use after stop). */
  illegalState: 'UNSEALER_ILLEGAL_STATE',
  /** Bad configuration (shares/threshold, addresses, key-store spec). */
  config: 'UNSEALER_CONFIG',
  /** The stored keys do not unseal the cluster: they belong to another one. */
  wrongKeys: 'UNSEALER_WRONG_KEYS',
  /** Unsealed nodes report different cluster ids: two clusters behind one name. */
  splitCluster: 'UNSEALER_SPLIT_CLUSTER',
  /** The cluster is initialized but the store holds no keys. */
  keysMissing: 'UNSEALER_KEYS_MISSING',
  /** The key store refuses to write because keys are already there. */
  keysExist: 'UNSEALER_KEYS_EXIST',
  /** The key store cannot be read or written. */
  keyStore: 'UNSEALER_KEY_STORE',
  /** Stored keys cannot be decrypted or parsed. */
  keyFormat: 'UNSEALER_KEY_FORMAT',
  /** A node did not answer or refused an operation. */
  node: 'UNSEALER_NODE',
  /** Leader election failed (lock or Lease unavailable). */
  election: 'UNSEALER_ELECTION',
  /** Node discovery failed. */
  discovery: 'UNSEALER_DISCOVERY',
} as const;

export type UnsealerErrorCode = (typeof UnsealerErrorCode)[keyof typeof UnsealerErrorCode];

export interface UnsealerErrorContext {
  /** Which node (id or address) the error concerns. */
  node?: string;
}

export class UnsealerError extends Error {
  readonly code: UnsealerErrorCode;
  readonly node: string | undefined;
  constructor(code: UnsealerErrorCode, message: string, options?: ErrorOptions & UnsealerErrorContext) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UnsealerError';
    this.code = code;
    this.node = options?.node;
  }
}

export function isUnsealerError(err: unknown): err is UnsealerError {
  return err instanceof UnsealerError;
}

/** A message for logs and users, safe whatever `err` is. */
export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
