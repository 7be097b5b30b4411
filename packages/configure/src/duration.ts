/**
 * TTLs in the file are Vault-style durations ("90s", "15m", "1h30m", "7d") or
 * whole seconds. They are sent to Vault as seconds, which is also how Vault
 * reads them back, so declared and live values compare exactly.
 */
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

export const DURATION_PATTERN = /^(\d+[smhd])+$|^\d+$/;

/** Seconds of a duration that matched DURATION_PATTERN (or a number of seconds). */
export function durationSeconds(value: string | number): number {
  if (typeof value === 'number') return value;
  if (/^\d+$/.test(value)) return Number(value);
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+)([smhd])/g)) {
    total += Number(amount) * (UNIT_SECONDS[unit ?? 's'] ?? 1);
  }
  return total;
}

/** A readable duration for plans: 3600 -> "1h", 5400 -> "1h30m", 0 -> "0s". */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  let rest = seconds;
  let out = '';
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
