import { execFile } from 'node:child_process';
import { TestbedError } from '../errors.ts';

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface RunOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Runs a host command to completion; never throws for a non-zero exit (see `runOk`). */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { env: options.env ?? process.env, timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err && typeof (err as { code?: unknown }).code !== 'number') {
          // Not an exit status: spawn failure or the timeout's kill.
          reject(new TestbedError('TESTBED_COMMAND', `${command} ${args.join(' ')}: ${err.message}`, { cause: err }));
          return;
        }
        resolve({ stdout, stderr, code: err ? Number((err as { code: number }).code) : 0 });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Runs a host command and throws, quoting its stderr, unless it exits 0. */
export async function runOk(command: string, args: string[], options: RunOptions = {}): Promise<string> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    const detail = (result.stderr || result.stdout).trim().split('\n').slice(-20).join('\n');
    throw new TestbedError('TESTBED_COMMAND', `${command} ${args.join(' ')} exited ${result.code}: ${detail}`);
  }
  return result.stdout;
}
