// HTTP load from outside the server process: a few concurrent GET loops, bounded in time, that
// count every request and every failure (any status but 200, any network error), so that a test
// or the demo can claim "0 failed requests" and show what failed otherwise.
import { setTimeout as delay } from 'node:timers/promises';

export interface HttpLoadOptions {
  /** Base URL, e.g. http://198.19.0.42:8080 */
  url: string;
  paths?: readonly string[];
  concurrency: number;
  /** Run at least this long ... */
  minMs: number;
  /** ... then until this holds (checked every 100 ms) ... */
  enough?: () => boolean;
  /** ... but never longer than this. */
  maxMs: number;
  signal?: AbortSignal;
  /** Called about every `everyMs` with the running totals. */
  progress?: { everyMs: number; report: (elapsedMs: number, requests: number, failed: number) => void };
}

export interface HttpLoadResult {
  elapsedMs: number;
  requests: number;
  failed: number;
  /** Failures by status or error code, to explain a failure. */
  failures: Map<string, number>;
  p50Ms: number;
  p99Ms: number;
}

const DEFAULT_PATHS = ['/users', '/users/1', '/users/2'];

export async function driveHttpLoad(options: HttpLoadOptions): Promise<HttpLoadResult> {
  const paths = options.paths ?? DEFAULT_PATHS;
  const started = performance.now();
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const latencies: number[] = [];
  const failures = new Map<string, number>();
  let requests = 0;
  let failed = 0;
  const fail = (why: string): void => {
    failed++;
    failures.set(why, (failures.get(why) ?? 0) + 1);
  };

  const worker = async (index: number): Promise<void> => {
    let i = index;
    while (!signal.aborted) {
      const path = paths[i++ % paths.length] ?? '/';
      const t0 = performance.now();
      try {
        // Each request runs to completion (no abort mid-flight): answers are counted, not cancellations.
        const res = await fetch(`${options.url}${path}`, { signal: AbortSignal.timeout(10_000) });
        await res.arrayBuffer();
        requests++;
        latencies.push(performance.now() - t0);
        if (res.status !== 200) fail(`HTTP ${res.status}`);
      } catch (err) {
        requests++;
        fail(((err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name) || 'error');
      }
    }
  };

  const workers = Array.from({ length: options.concurrency }, (_, i) => worker(i));
  let nextProgress = options.progress?.everyMs ?? Infinity;
  try {
    for (;;) {
      const elapsed = performance.now() - started;
      if (elapsed >= options.maxMs || (elapsed >= options.minMs && (options.enough?.() ?? true))) break;
      if (options.progress && elapsed >= nextProgress) {
        options.progress.report(elapsed, requests, failed);
        nextProgress += options.progress.everyMs;
      }
      await delay(100, undefined, options.signal ? { signal: options.signal } : undefined);
    }
  } finally {
    stop.abort();
    await Promise.all(workers);
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] ?? 0;
  return { elapsedMs: performance.now() - started, requests, failed, failures, p50Ms: pct(50), p99Ms: pct(99) };
}

/** "3 × HTTP 503, 1 × ECONNRESET", for an assertion message. */
export function describeFailures(failures: Map<string, number>): string {
  return [...failures].map(([why, n]) => `${n} × ${why}`).join(', ') || 'none';
}
