import { CodedError, errorGuard } from './error-base.ts';

/**
 * Stable error codes of the Vault client. Messages may change; codes may not.
 */
export const VaultErrorCode = {
  /** Any HTTP error answer without a more specific code. */
  HTTP: 'VAULT_HTTP',
  /** 400: Vault rejected the request (bad input, already initialized, ...). */
  BAD_REQUEST: 'VAULT_BAD_REQUEST',
  /** 403: missing/expired token or a policy that does not allow the path. */
  PERMISSION_DENIED: 'VAULT_PERMISSION_DENIED',
  /** 404: nothing at that path. */
  NOT_FOUND: 'VAULT_NOT_FOUND',
  /** 429: rate limited (a quota), outside health and seal endpoints. */
  RATE_LIMITED: 'VAULT_RATE_LIMITED',
  /** 503 with "sealed": the node is sealed. */
  SEALED: 'VAULT_SEALED',
  /** 503 otherwise: standby without an active node, shutting down, ... */
  UNAVAILABLE: 'VAULT_UNAVAILABLE',
  /** An attempt took longer than `timeoutMs`. */
  TIMEOUT: 'VAULT_TIMEOUT',
  /** The connection failed (refused, reset, DNS, TLS). */
  NETWORK: 'VAULT_NETWORK',
  /** The caller's AbortSignal fired. */
  ABORTED: 'VAULT_ABORTED',
  /** The answer was not JSON or did not have the expected shape. */
  INVALID_RESPONSE: 'VAULT_INVALID_RESPONSE',
  /** More standby redirects than allowed, or a redirect without a usable Location. */
  REDIRECT: 'VAULT_REDIRECT',
} as const;

export type VaultErrorCode = (typeof VaultErrorCode)[keyof typeof VaultErrorCode];

export interface VaultErrorContext {
  method: string;
  /** API path without the /v1/ prefix. Never contains a token. */
  path: string;
  /** HTTP status, when an answer arrived. */
  status?: number;
  /** Vault's own `errors[]` from the answer body. */
  errors?: string[];
  /** How many attempts were made before giving up. */
  attempts?: number;
  cause?: unknown;
}

/**
 * The one error type of the package. Its context is the method, path, status,
 * Vault's `errors[]` and the attempts made, never the token or the request headers.
 */
export class VaultError extends CodedError<VaultErrorCode, Required<Omit<VaultErrorContext, 'cause' | 'status'>> & { status: number | undefined }> {
  constructor(code: VaultErrorCode, message: string, context: VaultErrorContext) {
    const { method, path, status, errors = [], attempts = 1, cause } = context;
    super(code, message, { method, path, status, errors, attempts }, { cause });
  }

  get method(): string {
    return this.context.method;
  }

  get path(): string {
    return this.context.path;
  }

  get status(): number | undefined {
    return this.context.status;
  }

  get errors(): string[] {
    return this.context.errors;
  }

  get attempts(): number {
    return this.context.attempts;
  }
}

export const isVaultError = errorGuard(VaultError);

/** Maps an HTTP error answer to a code. Pure, so the mapping is table-tested. */
export function codeForStatus(status: number, errors: readonly string[]): VaultErrorCode {
  switch (status) {
    case 400:
      return VaultErrorCode.BAD_REQUEST;
    case 403:
      return VaultErrorCode.PERMISSION_DENIED;
    case 404:
      return VaultErrorCode.NOT_FOUND;
    case 429:
      return VaultErrorCode.RATE_LIMITED;
    case 503:
      return errors.some((e) => /\bsealed\b/i.test(e)) ? VaultErrorCode.SEALED : VaultErrorCode.UNAVAILABLE;
    default:
      return VaultErrorCode.HTTP;
  }
}

/** Builds the error for an HTTP error answer. */
export function httpError(method: string, path: string, status: number, errors: string[]): VaultError {
  const detail = errors.length > 0 ? `: ${errors.join('; ')}` : '';
  return new VaultError(codeForStatus(status, errors), `${method} ${path} failed with status ${status}${detail}`, {
    method,
    path,
    status,
    errors,
  });
}
