// bench/http: GET /users/:id requests/s and p99 at a fixed concurrency for
// users-api, against two baselines measured in the same run on the same
// PostgreSQL: a minimal node:http + pg server (the Node floor) and pgbench
// running the same SELECT over the same number of connections (the database
// limit). Also users-api's peak RSS under load. Prints figures, then one JSON line.
//   node --import tsx --conditions=rotor-source bench/http/main.ts
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort, startOpenBao, startPostgres, waitFor } from '@rotor/testbed';
import { VaultClient } from '@rotor/vault-client';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
/** Each contender's SECONDS are split into this many alternating rounds. */
const ROUNDS = 4;
const ROWS = 10_000;
const TARGET_RATIO = 0.9;

interface LoadResult {
  requests: number;
  errors: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

interface LoadSample {
  latencies: number[];
  errors: number;
  seconds: number;
}

/** Closed-loop load: CONCURRENCY workers on keep-alive connections, random ids. */
async function load(port: number, seconds: number): Promise<LoadSample> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + seconds * 1000;
  const one = (id: number): Promise<number> =>
    new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: `/users/${id}`, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', () => resolve(0));
      req.end();
    });
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const start = performance.now();
      const status = await one(1 + Math.floor(Math.random() * ROWS));
      if (status === 200) latencies.push(performance.now() - start);
      else errors++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  agent.destroy();
  return { latencies, errors, seconds: (performance.now() - started) / 1000 };
}

/** Merges samples of one contender into its figures. */
function summarize(samples: LoadSample[]): LoadResult {
  const latencies = samples.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const seconds = samples.reduce((sum, s) => sum + s.seconds, 0);
  const at = (q: number) => round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
  return { requests: latencies.length, errors: samples.reduce((sum, s) => sum + s.errors, 0), rps: Math.round(latencies.length / seconds), p50Ms: at(0.5), p99Ms: at(0.99) };
}

const round = (n: number, digits = 2) => Number(n.toFixed(digits));

async function startChild(args: string[], env: Record<string, string>, port: number): Promise<{ proc: ChildProcess; stop(): Promise<void> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', '--conditions=rotor-source', ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = once(proc, 'exit');
  await waitFor(`${args[0]} to answer`, async () => ((await fetch(`http://127.0.0.1:${port}/users/1`)).status === 200 ? true : undefined), { timeoutMs: 60_000, intervalMs: 200 }).catch((err: unknown) => {
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

/** Samples a process's resident set size while `during` runs; returns the peak in MiB. */
async function peakRss<T>(pid: number, during: Promise<T>): Promise<{ value: T; rssMiB: number }> {
  let peak = 0;
  const sample = () => {
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
    const out = execFileSync('/usr/bin/pgbench', ['-n', '-M', 'prepared', '-f', script, '-c', String(CONNECTIONS), '-j', '2', '-T', String(seconds), '-h', url.hostname, '-p', url.port, '-U', decodeURIComponent(url.username), 'postgres'], {
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
  await vault.sys.enableMount('database', { type: 'database' });
  await vault.database.writeConfig('postgres', { pluginName: 'postgresql-database-plugin', allowedRoles: ['*'], connectionUrl: db.vaultConnectionUrl(), username: db.superuser, password: db.superuserPassword });
  await vault.database.writeRole('db-reader-role', {
    dbName: 'postgres',
    creationStatements: [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";`],
    defaultTtl: 3600,
  });
  const lease = await vault.database.creds('db-reader-role');
  const { username, password } = lease.data;

  const apiPort = await freePort();
  const api = await startChild([fileURLToPath(new URL('../../services/users-api/src/main.ts', import.meta.url))], {
    CREDENTIALS_MODE: 'static', DB_USER: username, DB_PASSWORD: password, DB_HOST: db.host, DB_PORT: String(db.port), DB_POOL_MAX: String(CONNECTIONS),
    HOST: '127.0.0.1', PORT: String(apiPort), SHUTDOWN_DELAY_MS: '0', LOG_LEVEL: 'error',
  }, apiPort);
  stops.push(() => api.stop());
  const floorPort = await freePort();
  const floor = await startChild([fileURLToPath(new URL('./minimal-server.ts', import.meta.url))], { DATABASE_URL: db.url(username, password), PORT: String(floorPort), POOL_MAX: String(CONNECTIONS) }, floorPort);
  stops.push(() => floor.stop());

  console.log(`GET /users/:id, ${CONCURRENCY} concurrent clients, ${CONNECTIONS} database connections, ${SECONDS} s each, ${ROWS} rows`);
  // Warm both servers (JIT, pool connections) before measuring.
  await load(apiPort, 2);
  await load(floorPort, 2);
  // Alternating rounds (A B B A ...), so that drift of the shared 2-core machine (page
  // cache, other processes) falls on both contenders alike instead of on whoever runs last.
  const apiSamples: LoadSample[] = [];
  const floorSamples: LoadSample[] = [];
  let peakRssMiB = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? (['api', 'floor'] as const) : (['floor', 'api'] as const);
    for (const who of order) {
      if (who === 'floor') floorSamples.push(await load(floorPort, SECONDS / ROUNDS));
      else {
        const { value, rssMiB } = await peakRss(api.proc.pid ?? 0, load(apiPort, SECONDS / ROUNDS));
        apiSamples.push(value);
        peakRssMiB = Math.max(peakRssMiB, rssMiB);
      }
    }
  }
  const usersApi = summarize(apiSamples);
  const nodeFloor = summarize(floorSamples);
  const rssMiB = peakRssMiB;
  console.log(`users-api        ${usersApi.rps} req/s  p50 ${usersApi.p50Ms} ms  p99 ${usersApi.p99Ms} ms  errors ${usersApi.errors}  peak RSS ${rssMiB} MiB`);
  console.log(`node:http + pg   ${nodeFloor.rps} req/s  p50 ${nodeFloor.p50Ms} ms  p99 ${nodeFloor.p99Ms} ms  errors ${nodeFloor.errors}`);
  await Promise.all(stops.splice(0).map((stop) => stop()));
  const database = pgbench(new URL(db.url(username, password)), password, SECONDS);
  console.log(`pgbench          ${database.tps} tps  avg latency ${database.avgLatencyMs} ms`);

  const vsNode = round(usersApi.rps / nodeFloor.rps);
  const vsPgbench = round(usersApi.rps / database.tps);
  console.log(`users-api / node floor = ${vsNode} (target >= ${TARGET_RATIO})   users-api / pgbench = ${vsPgbench}`);
  console.log(
    JSON.stringify({
      bench: 'http',
      concurrency: CONCURRENCY,
      connections: CONNECTIONS,
      seconds: SECONDS,
      usersApi: { ...usersApi, peakRssMiB: rssMiB },
      nodeFloor,
      pgbench: database,
      ratioVsNodeFloor: vsNode,
      ratioVsPgbench: vsPgbench,
      targetRatioVsNodeFloor: TARGET_RATIO,
      meetsTarget: vsNode >= TARGET_RATIO,
    }),
  );
} finally {
  await Promise.all(stops.map((stop) => stop()));
  await Promise.all([db.stop(), bao.stop()]);
}
