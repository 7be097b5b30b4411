import type { DbCredentials } from './credentials.ts';

/** Why a source handed out new credentials (a metric label and a log field). */
export type RotationReason =
  | 'file-changed'
  | 'renewal-truncated'
  | 'not-renewable'
  | 'renewal-failed'
  | 'token-relogin'
  | 'auth-failure';

export type CredentialListener = (creds: DbCredentials, reason: RotationReason) => void;

/**
 * Where a service's database credentials come from. One consumer (a
 * RotatingPool) subscribes to changes, asks for fresh credentials when the
 * database refuses the current ones, and releases credentials it no longer
 * uses so the source may revoke them.
 */
export interface CredentialSource {
  /** Short name for logs and metric labels, e.g. "agent-file" or "vault-lease". */
  readonly kind: string;
  /** Obtains the first credentials; rejects if none are usable. */
  start(): Promise<DbCredentials>;
  /** Stops all background work and revokes what the source itself obtained. */
  stop(): Promise<void>;
  /** The credentials to use now. */
  current(): DbCredentials;
  /**
   * Calls `listener` on each change; returns the unsubscribe function. This is the one
   * channel new credentials arrive by, refreshes included.
   */
  subscribe(listener: CredentialListener): () => void;
  /**
   * The database refused `stale`: try to get fresher credentials (coalesced: concurrent
   * callers share one attempt). Any it got were delivered to the subscribers before this
   * resolves; it returns nothing, so there is no second channel to reconcile. Never throws
   * for a source-side failure.
   */
  refresh(stale: DbCredentials): Promise<void>;
  /** `creds` are no longer used by anyone (their pool drained): revoke if owned. */
  release(creds: DbCredentials): Promise<void>;
  /**
   * When `creds` expire as last renewed (a renewal extends a lease without new
   * credentials). Optional: without it, `creds.expiresAt` (or the current
   * credentials' when they are the same login) is taken as is.
   */
  expiryOf?(creds: DbCredentials): Date | undefined;
}

/** The listener set shared by the sources; a throwing listener cannot break the source. */
export class Listeners {
  readonly #listeners = new Set<CredentialListener>();
  readonly #onError: (err: unknown) => void;

  constructor(onError: (err: unknown) => void) {
    this.#onError = onError;
  }

  add(listener: CredentialListener): () => void {
    // Wrap so the same function may subscribe twice and unsubscribe independently.
    const entry: CredentialListener = (creds, reason) => listener(creds, reason);
    this.#listeners.add(entry);
    return () => void this.#listeners.delete(entry);
  }

  emit(creds: DbCredentials, reason: RotationReason): void {
    for (const listener of this.#listeners) {
      try {
        listener(creds, reason);
      } catch (err) {
        this.#onError(err);
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}
