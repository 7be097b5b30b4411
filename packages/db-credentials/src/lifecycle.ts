import { DbCredentialsError } from './errors.ts';

type State = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * The start/stop state of a long-lived object. Illegal transitions (start
 * twice, use before start or after stop, stop twice) throw coded errors.
 */
export class Lifecycle {
  readonly #what: string;
  #state: State = 'new';

  constructor(what: string) {
    this.#what = what;
  }

  get running(): boolean {
    return this.#state === 'running';
  }

  /** True once stop() began: background work checks this before acting. */
  get stopping(): boolean {
    return this.#state === 'stopping' || this.#state === 'stopped';
  }

  beginStart(): void {
    if (this.#state === 'new') {
      this.#state = 'starting';
      return;
    }
    if (this.stopping) throw new DbCredentialsError('DBCREDS_STOPPED', `${this.#what} was stopped and cannot start again`);
    throw new DbCredentialsError('DBCREDS_ALREADY_STARTED', `${this.#what} is already started`);
  }

  /** Marks start as done (ok) or failed (the object is then unusable). */
  endStart(ok: boolean): void {
    this.#state = ok ? 'running' : 'stopped';
  }

  assertRunning(operation: string): void {
    if (this.#state === 'running') return;
    if (this.stopping) throw new DbCredentialsError('DBCREDS_STOPPED', `${this.#what}: ${operation} after stop`);
    throw new DbCredentialsError('DBCREDS_NOT_STARTED', `${this.#what}: ${operation} before start`);
  }

  beginStop(): void {
    if (this.#state === 'running') {
      this.#state = 'stopping';
      return;
    }
    if (this.stopping) throw new DbCredentialsError('DBCREDS_STOPPED', `${this.#what} is already stopped`);
    throw new DbCredentialsError('DBCREDS_NOT_STARTED', `${this.#what} cannot stop: it is not running`);
  }

  endStop(): void {
    this.#state = 'stopped';
  }
}
