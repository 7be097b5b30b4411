// The secret values the demo comes to know (superuser password, unseal keys,
// root token, service-account tokens, every issued database password). They
// are never printed; at the end every byte the demo printed and every log its
// components wrote is scanned for them.
import { readFileSync, writeFileSync } from 'node:fs';

export class Secrets {
  readonly #values = new Set<string>();

  /** Remembers a secret (short or empty strings are ignored: they would match anything). */
  add(value: string | undefined): void {
    if (value !== undefined && value.length >= 8) this.#values.add(value);
  }

  /** An unseal key share in both forms OpenBao knows: base64 and hex. */
  addUnsealKey(base64: string): void {
    this.add(base64);
    this.add(Buffer.from(base64, 'base64').toString('hex'));
  }

  get size(): number {
    return this.#values.size;
  }

  /** How many secret values occur in `text` (0 is the only good answer). */
  countIn(text: string): number {
    let found = 0;
    for (const value of this.#values) if (text.includes(value)) found++;
    return found;
  }

  /**
   * Test hook: ROTOR_DEMO_SECRETS_FILE names a file (mode 0600) that receives
   * the secret values as JSON, so a test can scan the demo's output itself.
   */
  exportForTest(path: string | undefined): void {
    if (!path) return;
    writeFileSync(path, JSON.stringify([...this.#values]), { mode: 0o600 });
  }
}

/** A file's text, or '' if it cannot be read (e.g. never created). */
export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
