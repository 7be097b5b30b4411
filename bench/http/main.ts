// bench/http: GET /users/:id requests/s, p50/p99 and peak RSS at a fixed concurrency for
// users-api, against baselines measured in the same run on the same PostgreSQL:
//  - a minimal node:http + pg server (the Node floor);
//  - fastify with a plain pg.Pool (users-api's framework without Rotor's pool and metrics);
//  - pgbench running the same SELECT over the same number of connections (the database limit).
// Load comes from autocannon in a separate process per contender (generator.ts), never from
// this process, and each round reports the generator's own CPU. Contenders take turns in
// rounds whose order rotates, so that drift of the shared machine falls on all alike.
// Prints figures, then one JSON line.
//   node --import tsx --conditions=rotor-source bench/http/main.ts
import { spawn, execFileSync, fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort, postgresBinDir, startOpenBao, startPostgres, waitFor, vaultAdmin } from '@rotor/testbed';
import { VaultClient } from '@rotor/vault-client';
import type { Command, Reply, RoundResult, Totals } from './generator.ts';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
/** Each contender's SECONDS are split into this many rounds. */
const ROUNDS = 4;
const ROWS = 10_000;
const TARGETS = { vsNodeFloor: 0.9, vsFastifyPg: 0.97 };
const TICK_MS = 10; // USER_HZ of /proc/<pid>/stat

const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

/**
 * A child process serving GET /users/:id on `port`, from `script` run by plain node: every
 * contender runs as it would ship, none through tsx, whose esbuild output wraps each closure
 * created per request in a `__name` call (profiled: ~2.4 µs a request in users-api's pool).
 * users-api runs its compiled `dist/` (as the image does); the one-file contenders are
 * TypeScript with erasable syntax only, which Node 24 runs as is.
 */
async function startChild(script: string, env: Record<string, string>, port: number): Promise<{ proc: ChildProcess; stop(): Promise<void> }> {
  const proc = spawn(process.execPath, [script], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = once(proc, 'exit');
  await waitFor(`${script} to answer`, async () => ((await fetch(`http://127.0.0.1:${port}/users/1`)).status === 200 ? true : undefined), { timeoutMs: 60_000, intervalMs: 200 }).catch((err: unknown) => {
    proc.kill('SIGKILL');
    throw new Error(`${String(err)}\n${out}`);
  });
  return {
    proc,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** A generator process (generator.ts) answering one reply per command. */
function startGenerator(): { send(command: Command): Promise<Reply>; stop(): Promise<void> } {
  const proc = fork(fileURLToPath(new URL('./generator.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx', '--conditions=rotor-source'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = once(proc, 'exit');
  return {
    async send(command) {
      const reply = once(proc, 'message') as Promise<[Reply]>;
      proc.send(command);
      const failed = exited.then(([code]) => {
        throw new Error(`load generator exited (${String(code)})`);
      });
      return (await Promise.race([reply, failed]))[0];
    },
    async stop() {
      if (proc.exitCode === null) proc.disconnect();
      await exited;
    },
  };
}

/** utime+stime of a process in ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ').map(Number);
  return ((fields[11] ?? 0) + (fields[12] ?? 0)) * TICK_MS;
}

/** Samples a process's resident set size while `during` runs; returns the peak in MiB. */
async function peakRss<T>(pid: number, during: Promise<T>): Promise<{ value: T; rssMiB: number }> {
  let peak = 0;
  const sample = (): void => {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    peak = Math.max(peak, kb);
  };
  const timer = setInterval(sample, 200);
  try {
    const value = await during;
    sample();
    return { value, rssMiB: round(peak / 1024, 1) };
  } finally {
    clearInterval(timer);
  }
}

function pgbench(url: URL, password: string, seconds: number): { tps: number; avgLatencyMs: number } {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-bench-http-'));
  try {
    const script = join(dir, 'select.sql');
    writeFileSync(script, `\\set id random(1, ${ROWS})\nSELECT id, title, name FROM users WHERE id = :id;\n`);
    const out = execFileSync(join(postgresBinDir(), 'pgbench'), ['-n', '-M', 'prepared', '-f', script, '-c', String(CONNECTIONS), '-j', '2', '-T', String(seconds), '-h', url.hostname, '-p', url.port, '-U', decodeURIComponent(url.username), 'postgres'], {
      env: { ...process.env, PGPASSWORD: password },
      encoding: 'utf8',
    });
    const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1] ?? NaN);
    const avgLatencyMs = Number(/latency average = ([\d.]+) ms/.exec(out)?.[1] ?? NaN);
    return { tps: Math.round(tps), avgLatencyMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Contender {
  name: string;
  label: string;
  port: number;
  server: { proc: ChildProcess; stop(): Promise<void> };
  generator: ReturnType<typeof startGenerator>;
  rounds: RoundResult[];
  serverCpuMs: number;
  peakRssMiB: number;
}

interface Figures {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  peakRssMiB: number;
  /** The server's CPU while measured, in cores. */
  serverCpuCores: number;
  /** The server's CPU per answered request, in µs: unlike req/s, it holds on a machine whose other load starves every contender alike. */
  serverCpuUsPerRequest: number;
  /** The generator's CPU, the busiest round, in cores. */
  generatorCpuCores: number;
}

async function figures(c: Contender): Promise<Figures> {
  const reply = await c.generator.send({ totals: true });
  if (!('totals' in reply)) throw new Error('generator answered a round instead of totals');
  const totals: Totals = reply.totals;
  const seconds = c.rounds.reduce((sum, r) => sum + r.seconds, 0);
  const requests = c.rounds.reduce((sum, r) => sum + r.requests, 0);
  return {
    rps: Math.round(requests / seconds),
    p50Ms: round(totals.p50Ms),
    p99Ms: round(totals.p99Ms),
    requests,
    errors: c.rounds.reduce((sum, r) => sum + r.errors, 0),
    peakRssMiB: c.peakRssMiB,
    serverCpuCores: round(c.serverCpuMs / 1000 / seconds),
    serverCpuUsPerRequest: Math.round((c.serverCpuMs * 1000) / Math.max(1, requests)),
    generatorCpuCores: Math.max(...c.rounds.map((r) => r.cpuCores)),
  };
}

const [db, bao] = await Promise.all([startPostgres(), startOpenBao({ mode: 'dev' })]);
const stops: Array<() => Promise<void>> = [];
try {
  const admin = new pg.Client({ connectionString: db.url() });
  await admin.connect();
  await admin.query('CREATE TABLE users (id serial NOT NULL UNIQUE, title varchar(255) NOT NULL, name varchar(255))');
  await admin.query(`INSERT INTO users (title, name) SELECT 'title ' || g, 'name ' || g FROM generate_series(1, ${ROWS}) g`);
  await admin.query('ANALYZE users');
  await admin.end();

  // The same SELECT-only credentials, issued by OpenBao, for all three contenders.
  const vault = new VaultClient({ address: bao.address, token: bao.rootToken });
  await vaultAdmin.enableMount(vault, 'database', { type: 'database' });
  await vaultAdmin.writeConfig(vault, 'postgres', { pluginName: 'postgresql-database-plugin', allowedRoles: ['*'], connectionUrl: db.vaultConnectionUrl(), username: db.superuser, password: db.superuserPassword });
  await vaultAdmin.writeRole(vault, 'db-reader-role', {
    dbName: 'postgres',
    creationStatements: [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";`],
    defaultTtl: 3600,
  });
  const lease = await vault.database.creds('db-reader-role');
  const { username, password } = lease.data;

  const contenders: Contender[] = [];
  const contender = async (name: string, label: string, script: string, env: (port: number) => Record<string, string>): Promise<void> => {
    const port = await freePort();
    const server = await startChild(script.startsWith('/') ? script : fileURLToPath(new URL(script, import.meta.url)), env(port), port);
    stops.push(() => server.stop());
    const generator = startGenerator();
    stops.push(() => generator.stop());
    contenders.push({ name, label, port, server, generator, rounds: [], serverCpuMs: 0, peakRssMiB: 0 });
  };
  // users-api's dist/ must be its checkout's source: an incremental build (that checkout's tsc),
  // quick when up to date. BENCH_USERS_API_CHECKOUT measures another checkout's users-api (an
  // earlier commit, with its own node_modules) against the same contenders: a before/after.
  const checkout = process.env.BENCH_USERS_API_CHECKOUT ?? fileURLToPath(new URL('../..', import.meta.url));
  execFileSync(process.execPath, [createRequire(join(checkout, 'package.json')).resolve('typescript/bin/tsc'), '-b', join(checkout, 'services/users-api')], { stdio: 'inherit' });
  await contender('usersApi', 'users-api', join(checkout, 'services/users-api/dist/src/main.js'), (port) => ({
    CREDENTIALS_MODE: 'static', DB_USER: username, DB_PASSWORD: password, DB_HOST: db.host, DB_PORT: String(db.port), DB_POOL_MAX: String(CONNECTIONS),
    HOST: '127.0.0.1', PORT: String(port), SHUTDOWN_DELAY_MS: '0', LOG_LEVEL: 'error',
  }));
  await contender('nodeFloor', 'node:http + pg', './minimal-server.ts', (port) => ({ DATABASE_URL: db.url(username, password), PORT: String(port), POOL_MAX: String(CONNECTIONS) }));
  await contender('fastifyPg', 'fastify + pg.Pool', './fastify-server.ts', (port) => ({ DATABASE_URL: db.url(username, password), PORT: String(port), POOL_MAX: String(CONNECTIONS) }));

  const request = (c: Contender, seconds: number, warmUp = false): Command => ({ round: { url: `http://127.0.0.1:${c.port}`, connections: CONCURRENCY, seconds, rows: ROWS, warmUp } });
  console.log(`GET /users/:id, autocannon ${CONCURRENCY} connections, ${CONNECTIONS} database connections, ${SECONDS} s per contender in ${ROUNDS} rounds, ${ROWS} rows`);
  // Warm every server (JIT, pool connections) before measuring.
  for (const c of contenders) await c.generator.send(request(c, 2, true));
  for (let r = 0; r < ROUNDS; r++) {
    // Rotating order: each contender runs first, second and last in turn.
    const order = contenders.map((_, i) => contenders[(i + r) % contenders.length]!);
    for (const c of order) {
      const pid = c.server.proc.pid ?? 0;
      const cpu0 = cpuMs(pid);
      const { value, rssMiB } = await peakRss(pid, c.generator.send(request(c, SECONDS / ROUNDS)));
      c.serverCpuMs += cpuMs(pid) - cpu0;
      if (!('round' in value)) throw new Error('generator answered totals instead of a round');
      c.rounds.push(value.round);
      c.peakRssMiB = Math.max(c.peakRssMiB, rssMiB);
    }
  }
  const results: Record<string, Figures> = {};
  for (const c of contenders) {
    const f = await figures(c);
    results[c.name] = f;
    console.log(`${c.label.padEnd(18)} ${f.rps} req/s  p50 ${f.p50Ms} ms  p99 ${f.p99Ms} ms  errors ${f.errors}  peak RSS ${f.peakRssMiB} MiB  server CPU ${f.serverCpuCores} cores (${f.serverCpuUsPerRequest} µs/request)  generator CPU ${f.generatorCpuCores} cores`);
  }
  await Promise.all(stops.splice(0).map((stop) => stop()));
  const database = pgbench(new URL(db.url(username, password)), password, SECONDS / 2);
  console.log(`${'pgbench'.padEnd(18)} ${database.tps} tps  avg latency ${database.avgLatencyMs} ms`);

  const api = results.usersApi!;
  const ratios = {
    vsNodeFloor: round(api.rps / results.nodeFloor!.rps),
    vsFastifyPg: round(api.rps / results.fastifyPg!.rps),
    vsPgbench: round(api.rps / database.tps),
    // Server CPU per request, the other way round (floor / users-api): 1 = as cheap as the floor.
    cpuVsNodeFloor: round(results.nodeFloor!.serverCpuUsPerRequest / api.serverCpuUsPerRequest),
    cpuVsFastifyPg: round(results.fastifyPg!.serverCpuUsPerRequest / api.serverCpuUsPerRequest),
  };
  const met = { vsNodeFloor: ratios.vsNodeFloor >= TARGETS.vsNodeFloor, vsFastifyPg: ratios.vsFastifyPg >= TARGETS.vsFastifyPg };
  console.log(`users-api / node floor = ${ratios.vsNodeFloor} (target >= ${TARGETS.vsNodeFloor})   users-api / fastify+pg = ${ratios.vsFastifyPg} (target >= ${TARGETS.vsFastifyPg})   users-api / pgbench = ${ratios.vsPgbench}`);
  console.log(`CPU per request, contender / users-api: node floor ${ratios.cpuVsNodeFloor}, fastify+pg ${ratios.cpuVsFastifyPg}`);
  console.log(
    JSON.stringify({
      bench: 'http',
      generator: 'autocannon (separate process)',
      concurrency: CONCURRENCY,
      connections: CONNECTIONS,
      seconds: SECONDS,
      rounds: ROUNDS,
      ...results,
      pgbench: database,
      ratios,
      targets: TARGETS,
      met,
    }),
  );
} finally {
  await Promise.all(stops.map((stop) => stop()));
  await Promise.all([db.stop(), bao.stop()]);
}
