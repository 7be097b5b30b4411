// `npm run demo`: Rotor's whole flow on this machine, checked step by step,
// torn down at the end (also on Ctrl-C or a failure). Exit code 0 only if
// every check held. See docs/demo.md.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runClusterDemo, type ClusterFigures } from './cluster.ts';
import type { DemoContext, Figures } from './context.ts';
import { runDemo } from './demo.ts';
import { Narrator, seconds } from './narrator.ts';
import { parseOptions, USAGE, type DemoOptions } from './options.ts';
import { archiveServerLogs, logFilesUnder, readLog, scanLogs, scanProblem } from '@rotor/testbed';
import { Secrets } from './secrets.ts';
import { Teardown } from './teardown.ts';

let options: DemoOptions;
try {
  options = parseOptions(process.argv.slice(2), process.env);
} catch (err) {
  process.stderr.write(`demo: ${(err as Error).message}\n`);
  process.exit(2);
}
if (options.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const narrator = new Narrator();
const teardown = new Teardown();
const secrets = new Secrets();
const abort = new AbortController();
// mkdtemp creates the directory with mode 0700.
const dir = mkdtempSync(join(tmpdir(), 'rotor-demo-'));
const ctx: DemoContext = { narrator, teardown, secrets, options, dir, signal: abort.signal };
// Every testbed server (OpenBao, PostgreSQL, etcd, kube-apiserver, agent, users-api) leaves a copy of
// its log here when it stops, before its own temp dir goes: the final scan reads them all.
const serverLogs = join(dir, 'server-logs');
mkdirSync(serverLogs, { mode: 0o700 });
archiveServerLogs(serverLogs);

let interrupted = false;
let finishing: Promise<never> | undefined;
const onSignal = (name: NodeJS.Signals): void => {
  if (!interrupted) {
    interrupted = true;
    narrator.note(`${name}: stopping and tearing everything down (again to force)`);
    abort.abort(new Error(`interrupted by ${name}`));
    return;
  }
  // Second signal: tear down now, whatever the steps are doing; a third one leaves at once.
  if (finishing === undefined) void finish(130);
  else {
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  }
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

narrator.title('Rotor demo: dynamic database credentials from OpenBao, rotated under load with zero failed requests');
narrator.info(
  options.cluster
    ? `the seed's kubectl walkthrough on a real single-node Kubernetes cluster on this machine; work dir ${dir} (0700)`
    : `real components on this machine (no Docker, no kubelet); work dir ${dir} (0700)${options.keep ? '; --keep: stays up until Ctrl-C' : ''}`,
);

let figures: Figures | undefined;
let clusterFigures: ClusterFigures | undefined;
let error: unknown;
try {
  if (options.cluster) clusterFigures = await runClusterDemo(ctx);
  else figures = await runDemo(ctx);
} catch (err) {
  error = err;
}
if (error !== undefined && !interrupted) {
  const message = error instanceof Error ? error.message : JSON.stringify(error);
  narrator.check(false, 'the demo stopped:', message.split('\n')[0] ?? message);
  const rest = message.split('\n').slice(1).join('\n').trim();
  if (rest) narrator.quote(rest);
}
// With --keep, Ctrl-C is how the demo ends: after a complete run it is not a failure.
const endedByKeep = options.keep && interrupted && error === undefined && figures !== undefined;
await finish(interrupted && !endedByKeep ? 130 : undefined);

function finish(forcedCode: number | undefined): Promise<never> {
  finishing ??= tearDownAndExit(forcedCode);
  return finishing;
}

async function tearDownAndExit(forcedCode: number | undefined): Promise<never> {
  narrator.step(8, 'Teardown', 'every process stopped, every temp dir removed');
  const started = performance.now();
  const failures = await teardown.run();
  for (const f of failures) narrator.check(false, `could not stop ${f.what}:`, f.error instanceof Error ? f.error.message : String(f.error));
  narrator.check(failures.length === 0, `${teardown.count} components stopped (processes, servers, timers), newest first`, `in ${seconds(performance.now() - started)}`);

  // Every byte printed and every log written (the demo's and every testbed server's), scanned for every
  // secret the demo came to know and for token shapes; an empty log fails the scan.
  archiveServerLogs(undefined);
  const logs = [{ name: 'demo output', text: narrator.printed() }, ...logFilesUnder(dir).map((f) => readLog(f, f.slice(dir.length + 1)))];
  const report = scanLogs(logs, secrets);
  const problem = scanProblem(report);
  const kinds = Object.entries(secrets.kinds()).map(([k, n]) => `${k}×${n}`).join(', ');
  narrator.check(problem === undefined, problem ?? 'no secret in the output or the logs', `(${report.secrets} secret values: ${kinds}; ${report.logs} logs, ${Math.round(report.bytes / 1024)} KiB)`);
  secrets.exportForTest(process.env.ROTOR_DEMO_SECRETS_FILE);

  rmSync(dir, { recursive: true, force: true });
  narrator.check(!existsSync(dir), `work dir removed`, `(${dir})`);
  if (figures) summary(figures);
  if (clusterFigures) clusterSummary(clusterFigures);
  const failed = narrator.failedChecks;
  const passed = narrator.checks.length - failed;
  const ok = failed === 0 && error === undefined && forcedCode === undefined;
  narrator.line();
  narrator.verdict(ok, ok ? `All ${passed} checks passed.` : `${failed} of ${narrator.checks.length} checks failed${forcedCode === 130 ? ' (interrupted)' : ''}.`);
  process.exit(forcedCode ?? (ok ? 0 : 1));
}

function clusterSummary(f: ClusterFigures): void {
  narrator.line();
  narrator.title('Summary');
  const r = f.rotation;
  const rows: [string, string][] = [
    ['node start (control plane, kubelet, CoreDNS)', seconds(f.nodeStartMs)],
    ['vault pods initialized, joined, unsealed', seconds(f.vaultReadyMs)],
    ['init-container rotation: requests / failed', `${r.requests} / ${r.failed} in ${r.seconds.toFixed(0)} s`],
    ['pods replaced before their credentials expired', String(r.replaced)],
    ['cluster peak memory (PSS)', `${f.peakMemoryMiB} MiB`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) narrator.line(`  ${k.padEnd(width)}  ${v}`);
}

function summary(f: Figures): void {
  narrator.line();
  narrator.title('Summary');
  const rows: [string, string][] = [
    ['Vault auth of the service', f.kubernetesAuth ? 'kubernetes (real kube-apiserver, TokenRequest tokens)' : 'approle (kube testbed not used)'],
  ];
  if (f.bootstrapMs !== undefined) rows.push(['cluster bootstrap by the unsealer', `${seconds(f.bootstrapMs)} (init, 2 raft joins, 3 nodes unsealed)`]);
  if (f.votersMs !== undefined) rows.push(['… and all 3 raft voters', seconds(f.votersMs)]);
  if (f.leaderFailoverMs !== undefined) rows.push(['leader killed → new leader', seconds(f.leaderFailoverMs)]);
  if (f.restartUnsealMs !== undefined) rows.push(['restarted node → unsealed again', seconds(f.restartUnsealMs)]);
  if (f.fileMode) {
    const m = f.fileMode;
    rows.push(['file mode (agent): requests / failed', `${m.requests} / ${m.failed} in ${m.seconds.toFixed(0)} s (p50 ${m.p50Ms.toFixed(1)} ms, p99 ${m.p99Ms.toFixed(1)} ms)`]);
    rows.push(['file mode: credential rotations', `${m.rotations} (${m.usernames} database users)`]);
  }
  if (f.revokedUsers !== undefined) rows.push(['old users revoked by Vault', String(f.revokedUsers)]);
  if (f.vaultMode) {
    const m = f.vaultMode;
    rows.push(['vault mode (direct lease): requests / failed', `${m.requests} / ${m.failed} in ${m.seconds.toFixed(0)} s`]);
    rows.push(['vault mode: truncated renewals → re-issues', `${m.renewals} → ${m.reissues}`]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) narrator.line(`  ${k.padEnd(width)}  ${v}`);
}
