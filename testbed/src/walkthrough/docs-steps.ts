// The install steps of docs/operations.md, run as written: each fenced `sh` block that starts
// with `# step: NAME` is one step. Running the documentation itself keeps it a tested claim.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { TestbedError } from '../errors.ts';

export interface DocStep {
  name: string;
  script: string;
  /** 1-based line of the block in the document, for error messages. */
  line: number;
}

/** Every `# step:` block of a Markdown document, in order. */
export function docSteps(markdown: string): DocStep[] {
  const steps: DocStep[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*```sh\s*$/.test(lines[i] ?? '')) continue;
    const indent = /^\s*/.exec(lines[i] ?? '')?.[0].length ?? 0;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j] ?? ''); j++) body.push((lines[j] ?? '').slice(indent));
    const name = /^# step: ([a-z0-9-]+)$/.exec(body[0] ?? '')?.[1];
    if (name !== undefined) steps.push({ name, script: body.slice(1).join('\n'), line: i + 1 });
    i = j;
  }
  return steps;
}

export function readDocSteps(file: string): DocStep[] {
  return docSteps(readFileSync(file, 'utf8'));
}

export interface StepRun {
  /** Output of the step (stdout and stderr interleaved). */
  output: string;
  elapsedMs: number;
}

/**
 * Runs one step with bash -euo pipefail in `cwd`, with `env` (KUBECONFIG, PATH with kubectl).
 * `rewrite` adapts the documented text to this cluster (e.g. the overlay path); a failure quotes
 * the step's output.
 */
export async function runDocStep(step: DocStep, options: { cwd: string; env: NodeJS.ProcessEnv; rewrite?: (script: string) => string; timeoutMs: number }): Promise<StepRun> {
  const script = options.rewrite ? options.rewrite(step.script) : step.script;
  const started = performance.now();
  const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  if (code !== 0) {
    throw new TestbedError('TESTBED_DOC_STEP', `docs step "${step.name}" (line ${step.line}) failed with ${code === null ? 'a timeout' : `exit ${code}`}:\n${output.trim().split('\n').slice(-30).join('\n')}`);
  }
  return { output, elapsedMs: performance.now() - started };
}
