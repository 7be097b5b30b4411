import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { TestbedError } from './errors.ts';

export interface ServerProcessOptions {
  /** Short name used in errors, e.g. "openbao node-1". */
  name: string;
  command: string;
  args: string[];
  /** Where stdout and stderr go; its tail is quoted when the server fails. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
}

const RECENT_OUTPUT_CHARS = 16_384;

let logArchive: string | undefined;

/**
 * From now on, every server's log is copied into `dir` once the server has
 * stopped (before its temp dir goes), so a run can scan all of them at the end
 * (the demo's secret scan). undefined turns it off.
 */
export function archiveServerLogs(dir: string | undefined): void {
  logArchive = dir;
}

/**
 * One child server process whose output is kept in a log file. `stop()` sends
 * SIGTERM, escalates to SIGKILL, and resolves only once the process is gone,
 * so a test's `finally` really leaves nothing behind.
 */
export class ServerProcess {
  readonly name: string;
  readonly logFile: string;
  readonly #child: ChildProcess;
  readonly #log: WriteStream;
  readonly #exited: Promise<void>;
  #exitCode: number | null = null;
  #exitSignal: NodeJS.Signals | null = null;
  #running = true;
  /** The newest output, kept in memory so a failure can quote it before the log file is flushed. */
  #recent = '';
  /** Aborted when the process exits, so waits on it stop early. */
  readonly exitSignal: AbortSignal;

  constructor(options: ServerProcessOptions) {
    this.name = options.name;
    this.logFile = options.logFile;
    this.#log = createWriteStream(options.logFile, { flags: 'a' });
    const controller = new AbortController();
    this.exitSignal = controller.signal;
    this.#child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      uid: options.uid,
      gid: options.gid,
    });
    for (const stream of [this.#child.stdout, this.#child.stderr]) {
      stream?.pipe(this.#log, { end: false });
      stream?.on('data', (chunk: Buffer) => {
        this.#recent = (this.#recent + chunk.toString('utf8')).slice(-RECENT_OUTPUT_CHARS);
      });
    }
    this.#exited = new Promise<void>((resolve) => {
      this.#child.once('error', (err) => {
        this.#log.write(`\n[testbed] failed to spawn ${options.command}: ${err.message}\n`);
        this.#running = false;
        controller.abort(new TestbedError('TESTBED_SPAWN', `${this.name}: ${err.message}`));
        resolve();
      });
      // 'close' comes after the child's output streams end, so the tail is complete.
      this.#child.once('close', (code, signal) => {
        this.#exitCode = code;
        this.#exitSignal = signal;
        this.#running = false;
        controller.abort(new TestbedError('TESTBED_EXITED', `${this.name} exited (${this.describeExit()})`));
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return this.#running;
  }

  describeExit(): string {
    return this.#exitSignal ? `signal ${this.#exitSignal}` : `code ${String(this.#exitCode)}`;
  }

  /** The last lines of the server's log, for error messages. */
  logTail(lines = 40): string {
    return this.#recent.trimEnd().split('\n').slice(-lines).join('\n') || '(no output)';
  }

  /** An error that quotes the tail of the log, for start failures. */
  failure(message: string, cause?: unknown): TestbedError {
    return new TestbedError('TESTBED_START', `${this.name}: ${message}\n--- last lines of ${this.logFile} ---\n${this.logTail()}`, {
      cause,
    });
  }

  /** Sends a signal without waiting (e.g. SIGKILL to simulate a crash). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.#running) this.#child.kill(signal);
  }

  async stop(graceMs = 5_000): Promise<void> {
    if (this.#running) {
      this.#child.kill('SIGTERM');
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
      try {
        await this.#exited;
      } finally {
        clearTimeout(timer);
      }
    }
    await this.#exited;
    await this.#closeLog();
    if (logArchive !== undefined) {
      // One file per log path: a node restarted several times appends to one log, archived whole.
      const id = createHash('sha256').update(this.logFile).digest('hex').slice(0, 8);
      copyFileSync(this.logFile, join(logArchive, `${this.name.replace(/[^\w.-]+/g, '_')}-${id}.log`));
    }
  }

  async #closeLog(): Promise<void> {
    if (this.#log.closed || this.#log.destroyed) return;
    this.#child.stdout?.unpipe(this.#log);
    this.#child.stderr?.unpipe(this.#log);
    this.#log.end();
    await once(this.#log, 'close');
  }
}
