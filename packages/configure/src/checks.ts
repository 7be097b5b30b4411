import { durationSeconds } from './duration.ts';
import type { Located } from './kind.ts';
import type { IssuePath } from './locate.ts';
import type { Duration } from './schema-parts.ts';

/** Reports a problem at a place in the file (a kind's `check`). */
export type AddProblem = (at: IssuePath, message: string) => void;

/** Each key once: a later entry with the same key is reported at its `field`. */
export function unique<T>(items: readonly Located<T>[], key: (item: T) => string, field: string, what: string, add: AddProblem): void {
  const seen = new Set<string>();
  for (const { entry, at } of items) {
    const k = key(entry);
    if (seen.has(k)) add([...at, field], `${what} "${k}" is declared twice`);
    seen.add(k);
  }
}

/** The items of a list in the file, each with its place. */
export function located<T>(items: readonly T[] | undefined, at: IssuePath): Located<T>[] {
  return (items ?? []).map((entry, i) => ({ entry, at: [...at, i] }));
}

/** A TTL no longer than its maximum (0 = no maximum). */
export function ttlOrder(ttl: Duration | undefined, max: Duration | undefined, at: IssuePath, ttlName: string, maxName: string, add: AddProblem): void {
  if (ttl === undefined || max === undefined) return;
  const [t, m] = [durationSeconds(ttl), durationSeconds(max)];
  if (m > 0 && t > m) add(at, `${ttlName} is longer than ${maxName}`);
}
