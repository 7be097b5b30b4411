#!/usr/bin/env node
// Runs node:test on explicit file paths (Node 20's --test takes no globs).
//   unit:        **/test/**/*.test.ts except *.int.test.ts — pure logic, no servers
//   integration: **/test/**/*.int.test.ts — real OpenBao, PostgreSQL, kube-apiserver
//   all:         both; files that start the Kubernetes node run last, one at a time
// Extra arguments narrow the run to files whose path contains one of them.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';

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
// Integration files start real servers; two files at a time suits a 2-core machine. Files
// that start the testbed's Kubernetes node own host-wide things (the bridge, iptables, the
// node lock) and measure the whole host, so they run after the others, one at a time.
const concurrency = process.env.ROTOR_TEST_CONCURRENCY ?? '2';
const startsNode = (f) => f.endsWith('.int.test.ts') && readFileSync(join(root, f), 'utf8').includes('startKubeNode(');
// node:test also times each file as a whole: the node walkthrough takes about 20 minutes.
const phases = [
  { files: files.filter((f) => !startsNode(f)), concurrency, timeoutMs: 600_000 },
  { files: files.filter(startsNode), concurrency: '1', timeoutMs: 45 * 60_000 },
].filter((p) => p.files.length > 0);

// Safety net, not a timing assertion: a test that hangs fails after 10 minutes (unless it sets
// its own timeout). No --test-force-exit: on Node 22 and 24 it drops the verdicts of a file's
// last tests, so counts come out short (nodejs/node#64833); a file that leaks a handle hangs instead.
const totals = { pass: 0, fail: 0, skipped: 0, todo: 0, cancelled: 0 };
let failed = false;
for (const phase of phases) {
  const args = [
    '--import', 'tsx', '--conditions=rotor-source',
    '--test', `--test-concurrency=${phase.concurrency}`, `--test-timeout=${phase.timeoutMs}`,
    ...phase.files,
  ];
  const result = await runPhase(args);
  failed ||= result.code !== 0;
  for (const key of Object.keys(totals)) totals[key] += result.counts[key] ?? 0;
}
if (phases.length > 1) {
  // One closing line over both runs, in the form CI reads.
  // A cancelled test (its file timed out or crashed) counts as failed.
  console.log(`tests: ${totals.pass} passed, ${totals.fail + totals.cancelled} failed, ${totals.skipped} skipped`);
}
process.exit(failed || totals.fail > 0 || totals.cancelled > 0 ? 1 : 0);

/** Runs node:test, passing its output through, and reads its closing counts: "# pass N" (tap) or "ℹ pass N" (spec, Node 24's default). */
function runPhase(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    const counts = {};
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString()).slice(-4096);
    });
    child.on('close', (code, signal) => {
      for (const m of tail.matchAll(/^(?:#|ℹ) (pass|fail|skipped|todo|cancelled) (\d+)$/gm)) counts[m[1]] = Number(m[2]);
      resolve({ code: signal ? 1 : (code ?? 1), counts });
    });
  });
}
