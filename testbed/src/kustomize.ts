import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from './binaries.ts';
import { TestbedError } from './errors.ts';

/** kustomize built from its Go module by `testbed/build.sh kustomize`. */
export function kustomizeBinary(): string {
  const path = process.env.ROTOR_KUSTOMIZE_BIN ?? join(cacheDir(), 'bin', 'kustomize');
  if (!existsSync(path)) {
    throw new TestbedError('TESTBED_NO_BINARY', `kustomize not found at ${path}: run "bash testbed/build.sh kustomize" (or set ROTOR_KUSTOMIZE_BIN)`);
  }
  return path;
}

/** `kustomize build dir`: the multi-document YAML that `kubectl apply -k dir` would send. */
export function kustomizeBuild(dir: string): Promise<string> {
  const binary = kustomizeBinary();
  return new Promise((resolve, reject) => {
    execFile(binary, ['build', dir], { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new TestbedError('TESTBED_KUSTOMIZE', `kustomize build ${dir} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}
