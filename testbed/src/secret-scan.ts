// Secret scans for tests and the demo: every secret value a run came to know
// (passwords, Vault login tokens, unseal keys, the envelope key, JWTs) against
// every log it produced. A scan over an empty log fails: it would prove
// nothing. Reports name the log and the kind of secret, never the value.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** One log to scan: where it came from, and its text. */
export interface LogText {
  name: string;
  text: string;
}

/** Secrets shorter than this are not tracked: they would match anything. */
const MIN_SECRET_CHARS = 8;

/** Token shapes that must not appear even when the value was never seen: JWTs and Vault/OpenBao tokens. */
export const SECRET_SHAPES: readonly { kind: string; pattern: RegExp }[] = [
  { kind: 'JWT', pattern: /eyJ[\w-]{10,}\.eyJ[\w-]{10,}\./ },
  { kind: 'Vault token', pattern: /\b(?:hv[sbr]|s|b|r)\.[A-Za-z0-9]{24,}\b/ },
];

/** The secret values a run came to know, each with its kind ("db password", "vault token", ...). */
export class SecretSet {
  readonly #values = new Map<string, string>();

  add(kind: string, value: string | undefined): void {
    if (value !== undefined && value.length >= MIN_SECRET_CHARS) this.#values.set(value, kind);
  }

  /** An unseal key share (or any key) in the forms it may be printed in: base64 and hex. */
  addKey(kind: string, base64: string): void {
    this.add(kind, base64);
    this.add(kind, Buffer.from(base64, 'base64').toString('hex'));
  }

  /** Raw key bytes in base64, base64url and hex. */
  addBytes(kind: string, bytes: Uint8Array): void {
    const buffer = Buffer.from(bytes);
    for (const encoding of ['base64', 'base64url', 'hex'] as const) this.add(kind, buffer.toString(encoding));
  }

  get size(): number {
    return this.#values.size;
  }

  /** How many values of each kind are tracked. */
  kinds(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const kind of this.#values.values()) counts[kind] = (counts[kind] ?? 0) + 1;
    return counts;
  }

  /** The kinds of the secrets that occur in `text` (one entry per value found). */
  foundIn(text: string): string[] {
    const found: string[] = [];
    for (const [value, kind] of this.#values) if (text.includes(value)) found.push(kind);
    return found;
  }

  /** The values themselves, for a test hook that hands them to another process. */
  values(): string[] {
    return [...this.#values.keys()];
  }
}

export interface ScanReport {
  logs: number;
  bytes: number;
  secrets: number;
  /** Logs with no text: a scan of them proves nothing. */
  empty: string[];
  /** "log: kind" for every secret value found. */
  leaks: string[];
  /** "log: shape" for token shapes found. */
  shapes: string[];
}

/** Scans every log for every secret (and for token shapes unless `shapes` is false). */
export function scanLogs(logs: readonly LogText[], secrets: SecretSet, options: { shapes?: boolean } = {}): ScanReport {
  const report: ScanReport = { logs: logs.length, bytes: 0, secrets: secrets.size, empty: [], leaks: [], shapes: [] };
  for (const log of logs) {
    report.bytes += Buffer.byteLength(log.text);
    if (log.text.trim() === '') report.empty.push(log.name);
    for (const kind of secrets.foundIn(log.text)) report.leaks.push(`${log.name}: ${kind}`);
    if (options.shapes !== false) {
      for (const shape of SECRET_SHAPES) if (shape.pattern.test(log.text)) report.shapes.push(`${log.name}: ${shape.kind}`);
    }
  }
  return report;
}

/** What is wrong with a scan, or undefined when it is clean: no logs, an empty log, a leak. */
export function scanProblem(report: ScanReport): string | undefined {
  if (report.logs === 0) return 'no logs to scan';
  if (report.secrets === 0) return 'no secrets to scan for';
  if (report.empty.length > 0) return `empty logs (a scan of nothing proves nothing): ${report.empty.join(', ')}`;
  if (report.leaks.length > 0) return `secrets in logs: ${report.leaks.join('; ')}`;
  if (report.shapes.length > 0) return `token-shaped strings in logs: ${report.shapes.join('; ')}`;
  return undefined;
}

/** Throws unless every log is non-empty and free of every secret; returns the report. */
export function assertNoSecretsInLogs(logs: readonly LogText[], secrets: SecretSet, options: { shapes?: boolean } = {}): ScanReport {
  const report = scanLogs(logs, secrets, options);
  const problem = scanProblem(report);
  if (problem) throw new Error(`secret scan failed: ${problem}`);
  return report;
}

/** A log file's text (named by its path). */
export function readLog(path: string, name = path): LogText {
  return { name, text: readFileSync(path, 'utf8') };
}

/** Every `*.log` file under `dir` (recursively), e.g. a testbed server's temp dir. */
export function logFilesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...logFilesUnder(path));
    else if (entry.isFile() && entry.name.endsWith('.log') && statSync(path).isFile()) found.push(path);
  }
  return found.sort();
}
