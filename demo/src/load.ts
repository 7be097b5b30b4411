// HTTP load against users-api while its credentials rotate: the testbed's load generator
// (a few concurrent GET loops, bounded in time, counting every request and every failure),
// with the demo's progress lines.
import { driveHttpLoad, type HttpLoadResult } from '@rotor/testbed';
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
