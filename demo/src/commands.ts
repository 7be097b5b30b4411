// Running the commands a user would run (the `rotor` CLI) as subprocesses.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './context.ts';

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a child: the demo's own, without any Vault/OpenBao or
 * PostgreSQL settings of the user's shell, plus `extra`. Secrets go only into
 * `extra` of the one child that needs them, never into the demo's own env.
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(VAULT_|BAO_|PG|DB_|CREDENTIALS_|ROTOR_DEMO_)/.test(key)) env[key] = value;
  }
  return { ...env, NO_COLOR: '1', ...extra };
}

/** `node packages/cli/bin/rotor.js ARGS`, collecting its output; rejects on abort. */
export function rotor(args: string[], env: NodeJS.ProcessEnv, signal: AbortSignal, timeoutMs = 120_000): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'packages/cli/bin/rotor.js'), ...args], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal,
      timeout: timeoutMs,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
