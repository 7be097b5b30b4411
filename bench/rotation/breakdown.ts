// Where a rotation window's time goes, measured piece by piece on a real OpenBao (dev) and
// PostgreSQL, each piece alone (serially, no other load), in CPU and wall time:
//  - SCRAM on the client: pg derives the salted password with WebCrypto PBKDF2 (4096
//    iterations, run on libuv's thread pool, not the event loop), once per connection;
//  - a connection: client CPU (this process, thread pool included) and server CPU (the
//    backend's fork, authentication, start-up and exit: the postmaster's reaped children);
//    then by phase: the client's event loop apart from its other threads, the backend's own
//    CPU up to its first query on the users table (/proc/<pid>/schedstat while it lives), what
//    its exit adds, and the postmaster's share (fork, reaping);
//  - issuing and revoking one lease: OpenBao's CPU and PostgreSQL's (CREATE ROLE hashes
//    the password with PBKDF2 on the server; revocation drops the role);
//  - a query (the bench's SELECT), to express each piece in "queries' worth of CPU".
// Prints readable lines, then one JSON line.
//   node --import tsx --conditions=rotor-source bench/rotation/breakdown.ts
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { webcrypto } from 'node:crypto';
import pg from 'pg';
import { startOpenBao, startPostgres } from '@rotor/testbed';
import { setUpSeed } from '../../packages/db-credentials/test/fixtures.ts';
import { pidByCmdline } from '../common/servers.ts';

const SAMPLES = 40;
const TICK_MS = 1000 / 100; // USER_HZ, as /proc reports CPU times

/** utime+stime (own) and cutime+cstime (reaped children) of a process, in ms. */
function procCpuMs(pid: number): { own: number; children: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ').map(Number);
  // After the "(comm) " prefix: field 14 of stat is index 11 here.
  return { own: (fields[11]! + fields[12]!) * TICK_MS, children: (fields[13]! + fields[14]!) * TICK_MS };
}

/** A live process's CPU so far in ms, to the nanosecond (/proc/<pid>/stat counts 10 ms ticks). */
function runtimeMs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
}

function ppidOf(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1]);
}


/** This process's CPU (all threads) in ms. */
function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** The event loop's thread's CPU in ms (the rest of selfCpuMs is libuv's thread pool and V8's helpers). */
function mainThreadCpuMs(): number {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
}

const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

async function measure(
  samples: number,
  run: () => Promise<void>,
  server: () => number = () => 0,
): Promise<{ wallMs: number; clientCpuMs: number; eventLoopCpuMs: number; serverCpuMs: number }> {
  const wall0 = performance.now();
  const cpu0 = selfCpuMs();
  const main0 = mainThreadCpuMs();
  const srv0 = server();
  for (let i = 0; i < samples; i++) await run();
  const wallMs = (performance.now() - wall0) / samples;
  const clientCpuMs = (selfCpuMs() - cpu0) / samples;
  const eventLoopCpuMs = (mainThreadCpuMs() - main0) / samples;
  const serverCpuMs = (server() - srv0) / samples;
  return { wallMs: round(wallMs), clientCpuMs: round(clientCpuMs), eventLoopCpuMs: round(eventLoopCpuMs), serverCpuMs: round(serverCpuMs) };
}

const [db, bao] = await Promise.all([startPostgres(), startOpenBao({ mode: 'dev' })]);
try {
  const root = await setUpSeed(db, bao, { 'bench-role': { defaultTtl: '1h', maxTtl: '1h' } });
  const lease = await root.database.creds('bench-role');
  const { username, password } = lease.data;
  const settings = { host: db.host, port: db.port, database: 'postgres', user: username, password };

  const probe = new pg.Client(settings);
  await probe.connect();
  const postmaster = ppidOf(Number((await probe.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid));
  // Every backend of the postmaster, reaped or alive (the probe's own is alive).
  const serverCpu = (): number => procCpuMs(postmaster).children;

  // SCRAM's PBKDF2 alone, as pg runs it (lib/crypto/utils-webcrypto.js deriveKey).
  const salt = webcrypto.getRandomValues(new Uint8Array(16));
  const pbkdf2 = await measure(SAMPLES, async () => {
    const key = await webcrypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, ['deriveBits']);
    await webcrypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations: 4096 }, key, 256);
  });

  // A connection opened, verified with one query, closed; the backend reaped before the next.
  const connect = await measure(SAMPLES, async () => {
    const c = new pg.Client(settings);
    await c.connect();
    await c.query('SELECT 1');
    await c.end();
  }, serverCpu);

  // The same connection's server side by phase: the backend's own CPU once it answered the
  // verify query on the users table (authentication, start-up, catalog loads), then what its
  // exit adds once reaped, and the postmaster's own share (fork, reaping).
  let backendLiveMs = 0;
  const pm0 = procCpuMs(postmaster);
  const login = await measure(SAMPLES, async () => {
    const c = new pg.Client(settings);
    await c.connect();
    await c.query('SELECT id, title, name FROM users WHERE id = 1');
    // pg's Client keeps the backend's pid from BackendKeyData (not in its type declarations).
    backendLiveMs += runtimeMs((c as unknown as { processID: number }).processID);
    await c.end();
  }, serverCpu);
  const pm1 = procCpuMs(postmaster);
  const backendStartMs = round(backendLiveMs / SAMPLES);
  const backendExitMs = round(login.serverCpuMs - backendStartMs);
  const postmasterMs = round((pm1.own - pm0.own) / SAMPLES);

  // The bench's query on one open connection, for scale (server CPU of a live backend is
  // not reaped yet: read it from the probe backend itself).
  const probePid = Number((await probe.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
  const queries = await measure(SAMPLES * 50, async () => {
    await probe.query('SELECT id, title, name FROM users WHERE id = $1', [1]);
  }, () => procCpuMs(probePid).own);
  await probe.end();

  // One lease issued and revoked: OpenBao's CPU and PostgreSQL's (its connection for Vault stays open,
  // so count the whole server: every process of the postmaster's tree via its children and itself).
  const baoPid = pidByCmdline(`-dev-listen-address=${new URL(bao.address).host}`);
  const pgTreeCpu = (): number => {
    let sum = procCpuMs(postmaster).own + procCpuMs(postmaster).children;
    for (const entry of readFileSync(`/proc/${postmaster}/task/${postmaster}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
      try {
        sum += procCpuMs(Number(entry)).own;
      } catch {
        // exited meanwhile: counted in children once reaped
      }
    }
    return sum;
  };
  const baoCpu0 = procCpuMs(baoPid).own;
  const issue = await measure(SAMPLES, async () => {
    const l = await root.database.creds('bench-role');
    await root.sys.revokeLease(l.leaseId);
  }, pgTreeCpu);
  const baoCpuPerLease = round((procCpuMs(baoPid).own - baoCpu0) / SAMPLES);

  const perConnectionCpu = connect.clientCpuMs + connect.serverCpuMs;
  const perQueryCpu = queries.clientCpuMs + queries.serverCpuMs;
  console.log(`client PBKDF2 (WebCrypto, 4096 iterations): ${pbkdf2.wallMs} ms wall, ${pbkdf2.clientCpuMs} ms CPU (thread pool)`);
  console.log(`one connection (connect + SELECT 1 + end): ${connect.wallMs} ms wall; CPU client ${connect.clientCpuMs} ms, server ${connect.serverCpuMs} ms`);
  console.log(
    `one login by phase (connect + the bench's verify query + end): event loop ${login.eventLoopCpuMs} ms of client ${login.clientCpuMs} ms; backend start-up and first query ${backendStartMs} ms, its exit ${backendExitMs} ms, postmaster ${postmasterMs} ms`,
  );
  console.log(`one query on an open connection: ${queries.wallMs} ms wall; CPU client ${queries.clientCpuMs} ms, server ${queries.serverCpuMs} ms`);
  console.log(`one lease issued + revoked: ${issue.wallMs} ms wall; CPU OpenBao ${baoCpuPerLease} ms, PostgreSQL ${issue.serverCpuMs} ms, client ${issue.clientCpuMs} ms`);
  console.log(`a connection costs the CPU of ${round(perConnectionCpu / perQueryCpu, 0)} queries; PBKDF2 is ${round((100 * pbkdf2.clientCpuMs) / perConnectionCpu, 0)}% of it`);
  console.log(
    JSON.stringify({
      bench: 'rotation-breakdown',
      samples: SAMPLES,
      clientPbkdf2: pbkdf2,
      connection: connect,
      loginPhases: { clientEventLoopCpuMs: login.eventLoopCpuMs, clientCpuMs: login.clientCpuMs, backendStartCpuMs: backendStartMs, backendExitCpuMs: backendExitMs, postmasterCpuMs: postmasterMs },
      query: queries,
      leaseIssueRevoke: { wallMs: issue.wallMs, openBaoCpuMs: baoCpuPerLease, postgresCpuMs: issue.serverCpuMs, clientCpuMs: issue.clientCpuMs },
      connectionCpuInQueries: round(perConnectionCpu / perQueryCpu, 1),
      pbkdf2ShareOfConnectionCpu: round(pbkdf2.clientCpuMs / perConnectionCpu),
    }),
  );
} finally {
  await Promise.all([db.stop(), bao.stop()]);
}
