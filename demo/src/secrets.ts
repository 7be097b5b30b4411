// The secret values the demo comes to know (superuser password, unseal keys,
// root token, service-account JWTs, Vault login tokens, every issued database
// password), each with its kind. They are never printed; at the end every byte
// the demo printed and every log its components wrote, the testbed servers'
// included, goes through testbed's shared scan (which also fails on an empty log).
import { readFileSync, writeFileSync } from 'node:fs';
import { SecretSet } from '@rotor/testbed';

export class Secrets extends SecretSet {
  /**
   * Test hook: ROTOR_DEMO_SECRETS_FILE names a file (mode 0600) that receives
   * the secret values as JSON, so a test can scan the demo's output itself.
   */
  exportForTest(path: string | undefined): void {
    if (!path) return;
    writeFileSync(path, JSON.stringify(this.values()), { mode: 0o600 });
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
