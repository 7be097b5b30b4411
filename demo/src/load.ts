// HTTP load against users-api on 127.0.0.1 while its credentials rotate:
// a few concurrent GET loops, bounded in time, counting every request and
// every failure (any status other than 200, any network error).
import { setTimeout as delay } from 'node:timers/promises';
import type { Narrator } from './narrator.ts';

export interface LoadOptions {
  url: string;
  concurrency: number;
  /** Run at least this long. */
  minMs: number;
  /** Keep going after minMs until this holds (e.g. enough rotations seen) ... */
  enough: () => boolean;
  /** ... but never longer than this. */
  maxMs: number;
  signal: AbortSignal;
  /** A progress line every so often. */
  progress?: { everyMs: number; line: (elapsedMs: number, requests: number, failed: number) => string; narrator: Narrator };
}

export interface LoadResult {
  elapsedMs: number;
  requests: number;
  failed: number;
  /** Failures by status (or error code), to explain a failure. */
  failures: Map<string, number>;
  p50Ms: number;
  p99Ms: number;
}

const PATHS = ['/users', '/users/1', '/users/2'];

export async function driveLoad(options: LoadOptions): Promise<LoadResult> {
  const started = performance.now();
  const stop = new AbortController();
  const signal = AbortSignal.any([options.signal, stop.signal]);
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
      const path = PATHS[i++ % PATHS.length] ?? '/users';
      const t0 = performance.now();
      try {
        // Each request runs to completion (no abort mid-flight): the demo counts answers, not cancellations.
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
      if (elapsed >= options.maxMs || (elapsed >= options.minMs && options.enough())) break;
      if (options.progress && elapsed >= nextProgress) {
        options.progress.narrator.info(options.progress.line(elapsed, requests, failed));
        nextProgress += options.progress.everyMs;
      }
      await delay(100, undefined, { signal: options.signal });
    }
  } finally {
    stop.abort();
    await Promise.all(workers);
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] ?? 0;
  return { elapsedMs: performance.now() - started, requests, failed, failures, p50Ms: pct(50), p99Ms: pct(99) };
}

/** Sum of a Prometheus counter's samples in a /metrics text (all labels). */
export function counterTotal(metricsText: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    const labelText = line[name.length] === '{' ? line.slice(name.length + 1, line.indexOf('}')) : '';
    if (!wanted.every((w) => labelText.split(',').includes(w))) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) total += value;
  }
  return total;
}

/** A counter's samples by the value of one label (e.g. rotations by reason). */
export function counterByLabel(metricsText: string, name: string, label: string): Record<string, number> {
  const by: Record<string, number> = {};
  const pattern = new RegExp(`^${name}\\{(?:[^}]*,)?${label}="([^"]*)"[^}]*\\} (\\S+)$`);
  for (const line of metricsText.split('\n')) {
    const m = pattern.exec(line);
    const value = Number(m?.[2]);
    if (m?.[1] !== undefined && Number.isFinite(value) && value > 0) by[m[1]] = (by[m[1]] ?? 0) + value;
  }
  return by;
}

/** A counter of users-api's /metrics (only samples with `labels`), or undefined if the scrape failed. */
export async function scrapeCounter(url: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  try {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) });
    return counterTotal(await res.text(), name, labels);
  } catch {
    return undefined;
  }
}

/** users-api's credential rotations by reason, or undefined if the scrape failed. */
export async function scrapeRotations(url: string): Promise<Record<string, number> | undefined> {
  try {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) });
    return counterByLabel(await res.text(), 'rotor_db_credentials_rotations_total', 'reason');
  } catch {
    return undefined;
  }
}
