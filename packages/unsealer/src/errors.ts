import { CodedError, errorGuard } from '@rotor/vault-client';

/**
 * The unsealer's error catalogue. Codes are stable (callers and exit codes key
 * on them); messages may change. No message ever carries a key or a token.
 */
export const UnsealerErrorCode = {
  /** A lifecycle call in the wrong state (start twice, use after stop). */
  ILLEGAL_STATE: 'UNSEALER_ILLEGAL_STATE',
  /** Bad configuration (shares/threshold, addresses, key-store spec). */
  CONFIG: 'UNSEALER_CONFIG',
  /** The stored keys do not unseal the cluster: they belong to another one. */
  WRONG_KEYS: 'UNSEALER_WRONG_KEYS',
  /** Unsealed nodes report different cluster ids: two clusters behind one name. */
  SPLIT_CLUSTER: 'UNSEALER_SPLIT_CLUSTER',
  /** The cluster is initialized but the store holds no keys. */
  KEYS_MISSING: 'UNSEALER_KEYS_MISSING',
  /** The key store refuses to write because keys are already there. */
  KEYS_EXIST: 'UNSEALER_KEYS_EXIST',
  /** The key store cannot be read or written. */
  KEY_STORE: 'UNSEALER_KEY_STORE',
  /** Stored keys cannot be decrypted or parsed. */
  KEY_FORMAT: 'UNSEALER_KEY_FORMAT',
  /** A node did not answer or refused an operation. */
  NODE: 'UNSEALER_NODE',
  /** Leader election failed (lock or Lease unavailable). */
  ELECTION: 'UNSEALER_ELECTION',
  /** Node discovery failed. */
  DISCOVERY: 'UNSEALER_DISCOVERY',
} as const;

export type UnsealerErrorCode = (typeof UnsealerErrorCode)[keyof typeof UnsealerErrorCode];

export interface UnsealerErrorContext {
  /** Which node (id or address) the error concerns. */
  node?: string;
}

export class UnsealerError extends CodedError<UnsealerErrorCode, UnsealerErrorContext> {
  constructor(code: UnsealerErrorCode, message: string, options?: ErrorOptions & UnsealerErrorContext) {
    super(code, message, options?.node === undefined ? {} : { node: options.node }, options);
  }

  /** Which node the error concerns, if one. */
  get node(): string | undefined {
    return this.context.node;
  }
}

export const isUnsealerError = errorGuard(UnsealerError);
