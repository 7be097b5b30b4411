import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { errorMessage } from '@rotor/vault-client';
import { UnsealerError, UnsealerErrorCode } from './errors.ts';
import {
  checkElectionTiming,
  decideLease,
  defaultRenewDeadlineMs,
  observeLease,
  withinRenewDeadline,
  type LeaderElection,
  type LeaseObservation,
  type LeaseRecord,
} from './election.ts';

const recordSchema = z.object({ holder: z.string(), renewedAt: z.number(), durationMs: z.number() });
type FileRecord = z.infer<typeof recordSchema>;
const errnoOf = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

export interface FileLockOptions {
  identity: string;
  /** A holder whose lock file has not changed for this long (on our clock) is presumed dead. Default 15 s. */
  leaseMs?: number;
  /** A leader that has not renewed for this long stops acting. Default 2/3 of the lease. */
  renewDeadlineMs?: number;
  now?: () => number;
}

/**
 * Leader election for static mode on one machine (or a shared filesystem): a
 * lock file created exclusively, renewed with a timestamp, taken over when
 * stale. Staleness is judged as for the Kubernetes Lease: from when this
 * instance last saw the file change, on its own clock. A takeover race can
 * leave two candidates believing they won until the next renewal reads the
 * file back; Vault itself refuses a second init, so the worst case is a
 * duplicate unseal submission.
 */
export class FileLockElection implements LeaderElection {
  readonly description: string;
  readonly #path: string;
  readonly #identity: string;
  readonly #leaseMs: number;
  readonly #renewDeadlineMs: number;
  readonly #now: () => number;
  #observed: LeaseObservation | undefined;
  #renewStartedAt: number | undefined;

  constructor(path: string, options: FileLockOptions) {
    this.#path = path;
    this.description = `lock file ${path}`;
    this.#identity = options.identity;
    this.#leaseMs = options.leaseMs ?? 15_000;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? defaultRenewDeadlineMs(this.#leaseMs);
    const problem = checkElectionTiming(this.#leaseMs, this.#renewDeadlineMs);
    if (problem) throw new UnsealerError(UnsealerErrorCode.CONFIG, `${this.description}: ${problem}`);
    this.#now = options.now ?? Date.now;
  }

  isLeading(): boolean {
    return withinRenewDeadline(this.#renewStartedAt, this.#renewDeadlineMs, this.#now());
  }

  async tryAcquire(): Promise<boolean> {
    const started = this.#now();
    let won: boolean;
    try {
      won = await this.#tryAcquire();
    } catch (err) {
      throw new UnsealerError(UnsealerErrorCode.ELECTION, `${this.description}: ${errnoOf(err) ?? errorMessage(err)}`, { cause: err });
    }
    this.#renewStartedAt = won ? started : undefined;
    return won;
  }

  async #tryAcquire(): Promise<boolean> {
    const current = await this.#read();
    const now = this.#now();
    this.#observed = observeLease(this.#observed, current, now);
    switch (decideLease(this.#observed, this.#identity, now)) {
      case 'held-by-other':
        return false;
      case 'renew':
        await this.#replace(now);
        return true;
      case 'take-over':
        await unlink(this.#path).catch((err: unknown) => {
          if (errnoOf(err) !== 'ENOENT') throw err;
        });
        return await this.#create(now);
      case 'acquire':
        return await this.#create(now);
    }
  }

  async release(): Promise<void> {
    this.#renewStartedAt = undefined;
    const current = await this.#read().catch(() => undefined);
    if (current?.holder === this.#identity) await unlink(this.#path).catch(() => undefined);
  }

  async #read(): Promise<LeaseRecord | undefined> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return undefined;
      throw err;
    }
    // A half-written or foreign file counts as stale (no duration); its text is its version.
    const parsed = recordSchema.safeParse(safeJson(text));
    return parsed.success ? { ...parsed.data, version: text } : { holder: '(unreadable)', renewedAt: 0, durationMs: 0, version: text };
  }

  /** Exclusive create: of several candidates exactly one links its complete file into place. */
  async #create(now: number): Promise<boolean> {
    const temp = await this.#writeTemp(now);
    try {
      await link(temp, this.#path);
      return true;
    } catch (err) {
      if (errnoOf(err) === 'EEXIST') return false;
      throw err;
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  /** Renewal: a complete new file renamed over the old one. */
  async #replace(now: number): Promise<void> {
    await rename(await this.#writeTemp(now), this.#path);
  }

  async #writeTemp(now: number): Promise<string> {
    const temp = `${this.#path}.${randomBytes(6).toString('hex')}.tmp`;
    const record: FileRecord = { holder: this.#identity, renewedAt: now, durationMs: this.#leaseMs };
    await writeFile(temp, JSON.stringify(record), { mode: 0o600, flag: 'wx' });
    return temp;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
