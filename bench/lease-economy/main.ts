// The lease economy: what N replicas of a service (each one VaultLeaseSource, as users-api runs in
// direct mode) cost one real OpenBao (dev) and PostgreSQL, at 10, 100 and 500 replicas, with a
// short lease (default TTL TTL_S, max TTL 3 × TTL_S) for a fixed time. Every Vault request goes
// through a counting proxy, so leases issued, renewals and revocations are what Vault saw. Each
// replica hands its old credentials back on rotation, as its pool would once drained.
// Replicas start one every 20 ms (a rollout), and a failed start is retried (a restarted pod).
// Reported per replica per TTL, plus Vault's requests/s and peak RSS, and PostgreSQL's Vault-issued
// roles alive at peak and after every replica stopped (must return to 0).
// Prints readable lines, then one JSON line.
//   node --import tsx --conditions=rotor-source bench/lease-economy/main.ts   (BENCH_REPLICAS=10,100 BENCH_SECONDS=30 BENCH_TTL=10 BENCH_RAMP_MS=20)
import { createServer, request, type Server } from 'node:http';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { freePort, startOpenBao, startPostgres, waitFor } from '@rotor/testbed';
import { VaultClient } from '@rotor/vault-client';
import { VaultLeaseSource, type DbCredentials } from '@rotor/db-credentials';
import { setUpAppRole, setUpSeed } from '../../packages/db-credentials/test/fixtures.ts';
import { pidByCmdline } from '../common/servers.ts';

const REPLICAS = (process.env.BENCH_REPLICAS ?? '10,100,500').split(',').map(Number);
const TTL_S = Number(process.env.BENCH_TTL ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 40);
/** Replicas start spread over this long per replica, as a rollout would (500 replicas: 10 s). */
const RAMP_MS_PER_REPLICA = Number(process.env.BENCH_RAMP_MS ?? 20);
/** A replica whose start fails tries again this often (a pod restarted), as Kubernetes would; counted. */
const START_ATTEMPTS = 5;
const TARGETS = { leasesPerReplicaPerTtlMax: 1, rolesAfterStop: 0 };

type Operation = 'login' | 'issue' | 'renew' | 'revoke' | 'token-renew' | 'token-revoke' | 'other';

function operationOf(method: string, path: string): Operation {
  if (path.includes('/auth/approle/login')) return 'login';
  if (path.includes('/database/creds/')) return 'issue';
  if (path.includes('/sys/leases/renew')) return 'renew';
  if (path.includes('/sys/leases/revoke')) return 'revoke';
  if (path.includes('/auth/token/renew-self')) return 'token-renew';
  if (path.includes('/auth/token/revoke-self')) return 'token-revoke';
  return method === 'GET' ? 'other' : 'other';
}

/** A forwarding proxy in front of OpenBao counting requests by operation. */
async function countingProxy(target: URL): Promise<{ address: string; counts: Map<Operation, number>; server: Server }> {
  const counts = new Map<Operation, number>();
  const server = createServer((req, res) => {
    const op = operationOf(req.method ?? 'GET', req.url ?? '/');
    counts.set(op, (counts.get(op) ?? 0) + 1);
    const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  const port = await freePort();
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return { address: `http://127.0.0.1:${port}`, counts, server };
}


function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

const [db, bao] = await Promise.all([startPostgres(), startOpenBao({ mode: 'dev' })]);
const admin = new pg.Client({ connectionString: db.url() });
const proxy = await countingProxy(new URL(bao.address));
try {
  await admin.connect();
  const root = await setUpSeed(db, bao, { 'economy-role': { defaultTtl: `${TTL_S}s`, maxTtl: `${3 * TTL_S}s` } });
  const approle = await setUpAppRole(root, 'app');
  const baoPid = pidByCmdline(`-dev-listen-address=${new URL(bao.address).host}`);
  const rolesAlive = async (): Promise<number> => Number((await admin.query<{ n: string }>(`SELECT count(*) AS n FROM pg_roles WHERE rolname LIKE 'v-%'`)).rows[0]?.n ?? 0);
  const results = [];
  for (const replicas of REPLICAS) {
    proxy.counts.clear();
    const vault = new VaultClient({ address: proxy.address });
    const sources: VaultLeaseSource[] = [];
    let peakRoles = 0;
    let peakRss = 0;
    let failedStarts = 0;
    let replicasNeverStarted = 0;
    let firstStartError: string | undefined;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, rssMiB(baoPid));
      void rolesAlive().then((n) => (peakRoles = Math.max(peakRoles, n)), () => undefined);
    }, 500);
    const began = performance.now();
    try {
      await Promise.all(
        Array.from({ length: replicas }, async (_, i) => {
          await delay(i * RAMP_MS_PER_REPLICA);
          for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
            const source = new VaultLeaseSource({ vault, login: { method: 'approle', ...approle }, role: 'economy-role' });
            try {
              let current: DbCredentials = await source.start();
              sources.push(source);
              // As a RotatingPool would: the old credentials go back once the new ones serve.
              source.subscribe((creds) => {
                const old = current;
                current = creds;
                void source.release(old).catch(() => undefined);
              });
              return;
            } catch (err) {
              failedStarts++;
              firstStartError ??= err instanceof Error ? err.message : String(err);
              await delay(1_000 * attempt);
            }
          }
          replicasNeverStarted++;
        }),
      );
      await delay(Math.max(0, SECONDS * 1000 - (performance.now() - began)));
    } finally {
      clearInterval(sampler);
    }
    const seconds = (performance.now() - began) / 1000;
    const during = new Map(proxy.counts);
    await Promise.all(sources.map((s) => s.stop().catch(() => undefined)));
    let rolesAfterStop = await rolesAlive();
    const settled = await waitFor('Vault-issued roles gone', async () => ((rolesAfterStop = await rolesAlive()) === 0 ? true : undefined), { timeoutMs: 60_000, intervalMs: 250 }).then(
      () => true,
      () => false,
    );
    const ttls = seconds / TTL_S;
    const per = (op: Operation): number => round((during.get(op) ?? 0) / replicas / ttls, 3);
    const requests = [...during.values()].reduce((a, b) => a + b, 0);
    const result = {
      replicas,
      seconds: round(seconds, 1),
      failedStarts,
      replicasNeverStarted,
      ...(firstStartError === undefined ? {} : { firstStartError }),
      perReplicaPerTtl: { leasesIssued: per('issue'), renewals: per('renew'), revocations: per('revoke'), logins: per('login'), tokenRenewals: per('token-renew') },
      totals: Object.fromEntries(during),
      vaultRequestsPerSecond: round(requests / seconds, 1),
      vaultPeakRssMiB: round(peakRss, 1),
      postgresRoles: { peak: peakRoles, afterStop: rolesAfterStop, settledToZero: settled },
    };
    results.push(result);
    console.log(
      `${replicas} replicas, ${result.seconds} s (${round(ttls, 1)} TTLs of ${TTL_S} s): per replica per TTL ${result.perReplicaPerTtl.leasesIssued} leases, ${result.perReplicaPerTtl.renewals} renewals, ${result.perReplicaPerTtl.revocations} revocations; Vault ${result.vaultRequestsPerSecond} req/s, peak RSS ${result.vaultPeakRssMiB} MiB; roles alive peak ${peakRoles}, after stop ${rolesAfterStop}${failedStarts ? `; ${failedStarts} failed starts (retried; ${replicasNeverStarted} replicas never started; first: ${firstStartError ?? ''})` : ''}`,
    );
  }
  const met = {
    allStarted: results.every((r) => r.replicasNeverStarted === 0),
    leasesPerReplicaPerTtl: results.every((r) => r.perReplicaPerTtl.leasesIssued <= TARGETS.leasesPerReplicaPerTtlMax),
    rolesReturnToZero: results.every((r) => r.postgresRoles.settledToZero),
  };
  console.log(JSON.stringify({ bench: 'lease-economy', ttlSeconds: TTL_S, maxTtlSeconds: 3 * TTL_S, results, targets: TARGETS, met }));
} finally {
  proxy.server.close();
  await admin.end().catch(() => undefined);
  await Promise.all([db.stop(), bao.stop()]);
}
