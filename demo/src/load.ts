// HTTP load against users-api while its credentials rotate: the testbed's load generator
// (a few concurrent GET loops, bounded in time, counting every request and every failure),
// with the demo's progress lines.
import { counterByLabel, counterTotal, driveHttpLoad, type HttpLoadResult } from '@rotor/testbed';
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

export type LoadResult = HttpLoadResult;

export function driveLoad(options: LoadOptions): Promise<LoadResult> {
  const { progress, ...load } = options;
  return driveHttpLoad({
    ...load,
    ...(progress ? { progress: { everyMs: progress.everyMs, report: (ms, requests, failed) => progress.narrator.info(progress.line(ms, requests, failed)) } } : {}),
  });
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
