import { watch, type FSWatcher } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import { parseAgentFile, type AgentFileParse } from './agent-file-format.ts';
import { describeCredentials, sameLogin, type DbCredentials } from './credentials.ts';
import { DbCredentialsError } from './errors.ts';
import { Lifecycle } from './lifecycle.ts';
import { silentLogger } from './logger.ts';
import { CredentialMetrics } from './metrics.ts';
import { Listeners, type CredentialListener, type CredentialSource } from './source.ts';

export interface AgentFileSourceOptions {
  /** The file Vault Agent renders from templates/db-creds.json.ctmpl. */
  path: string;
  /**
   * Follow the agent's re-renders (sidecar mode, default). `false` is
   * init-container mode: the file is read once and `current().expiresAt`
   * tells the service when to go away.
   */
  watch?: boolean;
  /** Quiet period after the last change event before reading the file. */
  debounceMs?: number;
  metrics?: CredentialMetrics;
  logger?: Logger;
}

const KIND = 'agent-file';

/**
 * Credentials from a file rendered by Vault Agent. The agent replaces the file
 * by rename, so the source watches the directory, debounces, then parses and
 * validates. A missing, partial or corrupt file is logged (never its content),
 * counted, and ignored: the current credentials stay in use.
 */
export class AgentFileSource implements CredentialSource {
  readonly kind = KIND;
  readonly #path: string;
  readonly #watch: boolean;
  readonly #debounceMs: number;
  readonly #metrics: CredentialMetrics;
  readonly #log: Logger;
  readonly #lifecycle = new Lifecycle('AgentFileSource');
  readonly #listeners: Listeners;
  #current: DbCredentials | undefined;
  #watcher: FSWatcher | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #reading: Promise<void> | undefined;
  /** A change arrived while reading: read again afterwards. */
  #dirty = false;

  constructor(options: AgentFileSourceOptions) {
    this.#path = options.path;
    this.#watch = options.watch ?? true;
    this.#debounceMs = options.debounceMs ?? 50;
    this.#metrics = options.metrics ?? new CredentialMetrics();
    this.#log = (options.logger ?? silentLogger()).child({ component: KIND, path: this.#path });
    this.#listeners = new Listeners((err) => this.#log.error({ err }, 'credential listener threw'));
  }

  async start(): Promise<DbCredentials> {
    this.#lifecycle.beginStart();
    try {
      if (this.#watch) this.#startWatching();
      const result = await readAgentFile(this.#path);
      if (!result.ok) {
        this.#report(result);
        throw new DbCredentialsError('DBCREDS_FILE_INVALID', `credentials file ${this.#path} is unusable (${result.problem})`, {
          path: this.#path,
          reason: result.problem,
        });
      }
      this.#accept(result.creds);
      this.#lifecycle.endStart(true);
      return result.creds;
    } catch (err) {
      this.#stopWatching();
      this.#lifecycle.endStart(false);
      throw err;
    }
  }

  current(): DbCredentials {
    this.#lifecycle.assertRunning('current');
    return this.#current as DbCredentials;
  }

  subscribe(listener: CredentialListener): () => void {
    return this.#listeners.add(listener);
  }

  /** Re-reads the file now: the agent may have rendered new credentials already. */
  async refresh(stale: DbCredentials): Promise<void> {
    this.#lifecycle.assertRunning('refresh');
    if (sameLogin(this.#current as DbCredentials, stale)) await this.#read();
  }

  /** The agent owns the lease; nothing to revoke here. */
  async release(_creds: DbCredentials): Promise<void> {}

  async stop(): Promise<void> {
    this.#lifecycle.beginStop();
    this.#stopWatching();
    await this.#reading;
    this.#listeners.clear();
    this.#lifecycle.endStop();
  }

  #startWatching(): void {
    const name = basename(this.#path);
    this.#watcher = watch(dirname(this.#path), { persistent: true }, (_event, filename) => {
      if (filename === null || filename === name) this.#changed();
    });
    this.#watcher.on('error', (err) => {
      this.#metrics.sourceErrors.inc({ source: KIND, reason: 'watch' });
      this.#log.error({ err: { message: err.message } }, 'watching the credentials directory failed');
    });
  }

  #stopWatching(): void {
    clearTimeout(this.#debounce);
    this.#debounce = undefined;
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  #changed(): void {
    if (this.#lifecycle.stopping) return;
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      void this.#read();
    }, this.#debounceMs);
  }

  /** One read at a time; changes seen meanwhile cause one more read. */
  #read(): Promise<void> {
    if (this.#reading) {
      this.#dirty = true;
      return this.#reading;
    }
    this.#reading = (async () => {
      do {
        this.#dirty = false;
        const result = await readAgentFile(this.#path);
        if (this.#lifecycle.stopping) return;
        if (result.ok) this.#accept(result.creds);
        else this.#report(result);
      } while (this.#dirty);
    })().finally(() => {
      this.#reading = undefined;
    });
    return this.#reading;
  }

  #accept(creds: DbCredentials): void {
    const previous = this.#current;
    this.#current = creds;
    this.#metrics.setExpiry(KIND, creds.expiresAt);
    if (previous === undefined) {
      this.#log.info({ creds: describeCredentials(creds) }, 'loaded credentials');
    } else if (!sameLogin(previous, creds)) {
      this.#log.info({ from: describeCredentials(previous), to: describeCredentials(creds) }, 'credentials file changed');
      this.#listeners.emit(creds, 'file-changed');
    }
  }

  #report(result: Extract<AgentFileParse, { ok: false }>): void {
    this.#metrics.sourceErrors.inc({ source: KIND, reason: result.problem });
    this.#log.warn({ problem: result.problem, ...(result.fields ? { fields: result.fields } : {}) }, 'ignoring unusable credentials file; keeping current credentials');
  }
}

/** Reads and parses the file through one descriptor, so content and mtime belong together. */
async function readAgentFile(path: string): Promise<AgentFileParse> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    return { ok: false, problem: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable' };
  }
  try {
    const [stat, text] = await Promise.all([handle.stat(), handle.readFile('utf8')]);
    return parseAgentFile(text, stat.mtimeMs);
  } catch {
    return { ok: false, problem: 'unreadable' };
  } finally {
    await handle.close();
  }
}
