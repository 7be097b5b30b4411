#!/usr/bin/env node
// Runs node:test on explicit file paths (Node 20's --test takes no globs).
//   unit:        **/test/**/*.test.ts except *.int.test.ts — pure logic, no servers
//   integration: **/test/**/*.int.test.ts — real OpenBao, PostgreSQL, kube-apiserver
//   all:         both, in one run so the closing summary counts every test
// Extra arguments narrow the run to files whose path contains one of them.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const [kind = 'all', ...filters] = process.argv.slice(2);
if (!['unit', 'integration', 'all'].includes(kind)) {
  console.error(`usage: run-tests.mjs unit|integration|all [path-filter ...]`);
  process.exit(2);
}

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.name.endsWith('.test.ts') && path.includes('/test/')) yield relative(root, path);
  }
}

const all = [...walk(root)].sort();
const pick = (integration) =>
  all.filter((f) => f.endsWith('.int.test.ts') === integration && (filters.length === 0 || filters.some((x) => f.includes(x))));

const files = kind === 'all' ? [...pick(false), ...pick(true)] : pick(kind === 'integration');
if (files.length === 0) {
  console.error('run-tests: no test files matched');
  process.exit(1);
}
// One node:test run, so its closing summary counts every test. Integration files
// start real servers; two files at a time suits a 2-core machine.
const concurrency = process.env.ROTOR_TEST_CONCURRENCY ?? '2';
// Safety nets, not timing assertions: a test that hangs fails after 10 minutes, and a
// file whose tests are done exits even if a leaked handle would keep it alive.
const args = [
  '--import', 'tsx', '--conditions=rotor-source',
  '--test', `--test-concurrency=${concurrency}`, '--test-timeout=600000', '--test-force-exit',
  ...files,
];
const { status, signal } = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
process.exit(signal ? 1 : (status ?? 1));
