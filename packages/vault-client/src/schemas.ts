import { z } from 'zod';

/** Vault wraps most answers as { data: ... }; this unwraps it. */
export function dataOf<T extends z.ZodType>(schema: T) {
  return z.object({ data: schema }).transform((r): z.output<T> => (r as { data: z.output<T> }).data);
}

/** The answer of a LIST: { data: { keys: [...] } }. */
export const listKeys = dataOf(z.object({ keys: z.array(z.string()) })).transform((d) => d.keys);

/** Free-form maps Vault returns (mount options, metadata); null becomes {}. */
export const stringMap = z
  .record(z.string(), z.string())
  .nullish()
  .transform((m) => m ?? {});

/** Plugin-specific objects: kept as they come, keys not converted. */
export const looseRecord = z.record(z.string(), z.unknown());
