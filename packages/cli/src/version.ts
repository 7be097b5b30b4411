import { readFileSync } from 'node:fs';

/**
 * The version of @rotor/cli from its package.json, which sits one level above
 * src/ (tsx) or two above dist/src/ (the built image).
 */
export function cliVersion(): string {
  for (const relative of ['../package.json', '../../package.json']) {
    try {
      const manifest = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
      if (manifest.name === '@rotor/cli' && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // Not this level: try the next.
    }
  }
  return 'unknown';
}
