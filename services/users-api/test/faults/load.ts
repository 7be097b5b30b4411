// HTTP load from outside users-api's process: a few GET loops that record
// every request (when it started and ended, what it got), so a fault test can
// count failures overall and in a window (e.g. the requests in flight when
// PostgreSQL went down).
import { setTimeout as delay } from 'node:timers/promises';

export interface RequestRecord {
  path: string;
  /** performance.now() at start and end. */
  startedAt: number;
  endedAt: number;
  /** Date.now() at start and end, to compare with credential expiry times. */
  wallStart: number;
  wallEnd: number;
  /** HTTP status, or the network error's code. */
  outcome: number | string;
  /** The error code users-api answered with (x-error-code), if any. */
  errorCode?: string;
}

const PATHS = ['/users', '/users/1', '/users/2'];

export class HttpLoad {
  readonly records: RequestRecord[] = [];
  readonly #url: string;
  readonly #paths: readonly string[];
  readonly #loops: Promise<void>[] = [];
  #stopped = false;

  constructor(url: string, options: { concurrency?: number; paths?: readonly string[] } = {}) {
    this.#url = url;
    this.#paths = options.paths ?? PATHS;
    for (let i = 0; i < (options.concurrency ?? 4); i++) this.#loops.push(this.#loop(i));
  }

  get ok(): number {
    return this.records.filter((r) => r.outcome === 200).length;
  }

  /** Requests that did not get 200. */
  failures(): RequestRecord[] {
    return this.records.filter((r) => r.outcome !== 200);
  }

  /** Failures that overlap [from, to] (performance.now() times). */
  failuresDuring(from: number, to: number): RequestRecord[] {
    return this.failures().filter((r) => r.endedAt >= from && r.startedAt <= to);
  }

  /** Successful requests that started after `t`. */
  okAfter(t: number): number {
    return this.records.filter((r) => r.outcome === 200 && r.startedAt > t).length;
  }

  /** "outcome×count" of the failures, to explain an assertion. */
  describeFailures(records = this.failures()): string {
    const counts = new Map<string, number>();
    for (const r of records) {
      const key = `${String(r.outcome)}${r.errorCode ? ` ${r.errorCode}` : ''}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts].map(([k, n]) => `${k}×${n}`).join(', ') || 'none';
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
  }

  async #loop(index: number): Promise<void> {
    let i = index;
    while (!this.#stopped) {
      const path = this.#paths[i++ % this.#paths.length] ?? '/users';
      const startedAt = performance.now();
      const wallStart = Date.now();
      let outcome: number | string;
      let errorCode: string | undefined;
      try {
        const res = await fetch(`${this.#url}${path}`, { signal: AbortSignal.timeout(15_000) });
        await res.arrayBuffer();
        outcome = res.status;
        errorCode = res.headers.get('x-error-code') ?? undefined;
      } catch (err) {
        outcome = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      }
      this.records.push({ path, startedAt, endedAt: performance.now(), wallStart, wallEnd: Date.now(), outcome, ...(errorCode ? { errorCode } : {}) });
      // A failing service answers at once: pace the loop then, so it does not spin (the load's rhythm, not a test wait).
      if (outcome !== 200) await delay(20);
    }
  }
}

/** /readyz polled from outside: when it answered what (Date.now()). */
export class ReadinessWatch {
  readonly samples: { at: number; status: number | string }[] = [];
  #stopped = false;
  readonly #loop: Promise<void>;

  constructor(url: string) {
    this.#loop = (async () => {
      while (!this.#stopped) {
        let status: number | string;
        try {
          const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) });
          await res.body?.cancel();
          status = res.status;
        } catch (err) {
          status = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
        }
        this.samples.push({ at: Date.now(), status });
        await delay(50);
      }
    })();
  }

  /** The first time after `since` that readiness answered other than 200. */
  firstNotReadyAfter(since: number): number | undefined {
    return this.samples.find((s) => s.at >= since && s.status !== 200)?.at;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
  }
}
