// The lease economy: what N replicas of a service cost one real OpenBao (dev) and PostgreSQL, with
// a short lease (default TTL TTL_S, max TTL 3 × TTL_S) for a fixed time, in either credential mode:
//   direct (default): each replica is one VaultLeaseSource, as users-api runs with
//     CREDENTIALS_MODE=vault; it hands its old credentials back on rotation, as its pool would.
//   agent: each replica is one real `bao agent` process (one per pod) rendering the repo's
//     templates/db-creds.json.ctmpl into a file (see agent-fleet.ts; BENCH_AGENT_SHUTDOWN=revoke
//     runs the injector's agent-revoke-on-shutdown preStop, =exit only stops the agent).
// Both log in with AppRole. Every Vault request goes through a counting proxy, so leases issued,
// renewals and revocations are what Vault saw. Replicas start one every BENCH_RAMP_MS (a rollout),
// and a failed start is retried (a restarted pod). Reported per replica per TTL, plus Vault's
// requests/s and peak RSS, PostgreSQL's Vault-issued roles alive at peak and after every replica
// stopped (must return to 0, and how long that took), the agents' own RSS and CPU, and how each
// total grew against the replica count (1 = linear).
// Prints readable lines, then one JSON line.
//   node --import tsx --conditions=rotor-source bench/lease-economy/main.ts
//   (BENCH_MODE=direct|agent BENCH_REPLICAS=10,100 BENCH_SECONDS=40 BENCH_TTL=10 BENCH_RAMP_MS=20 BENCH_AGENT_SHUTDOWN=revoke|exit)
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { startOpenBao, startPostgres, waitFor } from '@rotor/testbed';
import { setUpAppRole, setUpSeed } from '../../packages/db-credentials/test/fixtures.ts';
import { pidByCmdline } from '../common/servers.ts';
import { cpuMs, memoryMiB, rssMiB } from '../common/proc.ts';
import { startCountingProxy, type Operation } from './counting-proxy.ts';
import { DirectFleet, type Fleet } from './fleet.ts';
import { AgentFleet, TEMPLATE_ROLE, type AgentShutdown } from './agent-fleet.ts';

const MODE = process.env.BENCH_MODE ?? 'direct';
if (MODE !== 'direct' && MODE !== 'agent') throw new Error(`BENCH_MODE=${MODE}: direct or agent`);
const SHUTDOWN = (process.env.BENCH_AGENT_SHUTDOWN ?? 'revoke') as AgentShutdown;
if (SHUTDOWN !== 'revoke' && SHUTDOWN !== 'exit') throw new Error(`BENCH_AGENT_SHUTDOWN=${String(SHUTDOWN)}: revoke or exit`);
/** 500 agents (~RSS per agent × 500) do not fit this 2-core machine beside Vault and PostgreSQL: see docs/benchmarks.md. */
const REPLICAS = (process.env.BENCH_REPLICAS ?? (MODE === 'agent' ? '10,100' : '10,100,500')).split(',').map(Number);
const TTL_S = Number(process.env.BENCH_TTL ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 40);
/** Replicas start spread over this long per replica, as a rollout would (500 replicas: 10 s). */
const RAMP_MS_PER_REPLICA = Number(process.env.BENCH_RAMP_MS ?? 20);
/** A replica whose start fails tries again this often (a pod restarted), as Kubernetes would; counted. */
const START_ATTEMPTS = 5;
/** How long the roles may take to go after every replica stopped: Vault's own expiry needs up to the max TTL. */
const SETTLE_TIMEOUT_MS = Math.max(60_000, 2 * 3 * TTL_S * 1000);
/** The template's role, so the agents render the repo's template unchanged; direct mode reads the same role. */
const ROLE = TEMPLATE_ROLE;
const TARGETS = { leasesPerReplicaPerTtlMax: 1, rolesAfterStop: 0 };

const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

const [db, bao] = await Promise.all([startPostgres(), startOpenBao({ mode: 'dev' })]);
const admin = new pg.Client({ connectionString: db.url() });
const proxy = await startCountingProxy(new URL(bao.address));
let fleet: Fleet | undefined;
try {
  await admin.connect();
  const root = await setUpSeed(db, bao, { [ROLE]: { defaultTtl: `${TTL_S}s`, maxTtl: `${3 * TTL_S}s` } });
  const approle = await setUpAppRole(root, 'app');
  const baoPid = pidByCmdline(`-dev-listen-address=${new URL(bao.address).host}`);
  const rolesAlive = async (): Promise<number> => Number((await admin.query<{ n: string }>(`SELECT count(*) AS n FROM pg_roles WHERE rolname LIKE 'v-%'`)).rows[0]?.n ?? 0);
  const results = [];
  for (const replicas of REPLICAS) {
    proxy.counts.clear();
    proxy.byClient.clear();
    const current: Fleet =
      MODE === 'agent' ? new AgentFleet({ binary: bao.binary, vaultAddress: proxy.address, login: approle, shutdown: SHUTDOWN, deleteEveryMs: RAMP_MS_PER_REPLICA }) : new DirectFleet(proxy.address, approle, ROLE);
    fleet = current;
    let peakRoles = 0;
    let peakRss = 0;
    /** The agents' memory summed over processes, at the sample where their RSS peaked. */
    let agentsPeak = { rss: 0, anon: 0, pss: 0, running: 0 };
    let failedStarts = 0;
    let replicasNeverStarted = 0;
    let firstStartError: string | undefined;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, rssMiB(baoPid));
      const pids = current.pids();
      if (pids.length > 0) {
        const sum = { rss: 0, anon: 0, pss: 0, running: pids.length };
        for (const m of pids.map(memoryMiB)) {
          sum.rss += m.rss;
          sum.anon += m.anon;
          sum.pss += m.pss;
        }
        if (sum.rss > agentsPeak.rss) agentsPeak = sum;
      }
      void rolesAlive().then((n) => (peakRoles = Math.max(peakRoles, n)), () => undefined);
    }, 500);
    const began = performance.now();
    let agentsCpuMs = 0;
    let exitedEarly = 0;
    try {
      await Promise.all(
        Array.from({ length: replicas }, async (_, i) => {
          await delay(i * RAMP_MS_PER_REPLICA);
          for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
            try {
              await current.startReplica();
              return;
            } catch (err) {
              failedStarts++;
              if (firstStartError === undefined) {
                const message = err instanceof Error ? err.message : String(err);
                // The first line into the JSON; an agent's failure quotes its log tail (info level: no secrets) after it.
                firstStartError = message.split('\n')[0];
                if (message.includes('\n')) console.error(`first failed start: ${message.split('\n').slice(-8).join('\n')}`);
              }
              await delay(1_000 * attempt);
            }
          }
          replicasNeverStarted++;
        }),
      );
      await delay(Math.max(0, SECONDS * 1000 - (performance.now() - began)));
      // Read before the agents exit: /proc forgets a process once it is reaped.
      agentsCpuMs = current.pids().reduce((sum, pid) => sum + cpuMs(pid), 0);
      exitedEarly = current.exitedEarly();
    } finally {
      clearInterval(sampler);
    }
    const seconds = (performance.now() - began) / 1000;
    const during = new Map(proxy.counts);
    // How evenly the replicas asked: per token that asked for a lease, its leases and renewals.
    const clients = [...proxy.byClient.values()].filter((c) => (c.get('issue') ?? 0) > 0);
    const spread = (op: Operation): { min: number; median: number; max: number } => {
      const n = clients.map((c) => c.get(op) ?? 0).sort((a, b) => a - b);
      return { min: n[0] ?? 0, median: n[Math.floor(n.length / 2)] ?? 0, max: n.at(-1) ?? 0 };
    };
    const perClient = { clients: clients.length, issue: spread('issue'), renew: spread('renew') };
    proxy.counts.clear();
    const stopBegan = performance.now();
    const { shutdownFailures } = await current.stop();
    fleet = undefined;
    const shutdownRequests = Object.fromEntries(proxy.counts);
    let rolesAfterStop = await rolesAlive();
    const settled = await waitFor('Vault-issued roles gone', async () => ((rolesAfterStop = await rolesAlive()) === 0 ? true : undefined), {
      timeoutMs: SETTLE_TIMEOUT_MS,
      intervalMs: 250,
    }).then(
      () => true,
      () => false,
    );
    const secondsToZero = settled ? round((performance.now() - stopBegan) / 1000, 1) : null;
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
      perClient,
      vaultRequestsPerSecond: round(requests / seconds, 1),
      vaultPeakRssMiB: round(peakRss, 1),
      ...(MODE === 'agent'
        ? {
            agents: {
              peakRssMiB: round(agentsPeak.rss, 1),
              peakPssMiB: round(agentsPeak.pss, 1),
              peakAnonMiB: round(agentsPeak.anon, 1),
              perAgentMiB: { rss: round(agentsPeak.rss / (agentsPeak.running || 1), 1), anon: round(agentsPeak.anon / (agentsPeak.running || 1), 1) },
              cpuSeconds: round(agentsCpuMs / 1000, 1),
              cpuPercentOfOneCore: round((agentsCpuMs / 1000 / seconds) * 100, 1),
              exitedEarly,
            },
          }
        : {}),
      shutdown: {
        requests: shutdownRequests,
        failures: shutdownFailures,
        ...(current instanceof AgentFleet && current.firstShutdownError !== undefined ? { firstError: current.firstShutdownError } : {}),
      },
      postgresRoles: { peak: peakRoles, afterStop: rolesAfterStop, settledToZero: settled, secondsToZero },
    };
    results.push(result);
    console.log(
      `${MODE}, ${replicas} replicas, ${result.seconds} s (${round(ttls, 1)} TTLs of ${TTL_S} s): per replica per TTL ${result.perReplicaPerTtl.leasesIssued} leases, ${result.perReplicaPerTtl.renewals} renewals, ${result.perReplicaPerTtl.revocations} revocations, ${result.perReplicaPerTtl.logins} logins; Vault ${result.vaultRequestsPerSecond} req/s, peak RSS ${result.vaultPeakRssMiB} MiB` +
        (result.agents ? `; agents RSS ${result.agents.peakRssMiB} MiB, PSS ${result.agents.peakPssMiB} MiB (each: RSS ${result.agents.perAgentMiB.rss}, anon ${result.agents.perAgentMiB.anon}), ${result.agents.cpuSeconds} CPU s, ${exitedEarly} exited early` : '') +
        `; roles alive peak ${peakRoles}, after stop ${rolesAfterStop} (${secondsToZero === null ? 'not 0' : `0 after ${secondsToZero} s`})` +
        (failedStarts ? `; ${failedStarts} failed starts (retried; ${replicasNeverStarted} replicas never started; first: ${firstStartError ?? ''})` : ''),
    );
  }
  // How each total grew from the fewest replicas to the most, divided by how the replicas grew: 1 is linear.
  const first = results[0];
  const last = results.at(-1);
  const growth =
    first && last && last.replicas > first.replicas
      ? Object.fromEntries(
          Object.entries({
            leasesIssued: (r: typeof first) => r.totals.issue ?? 0,
            renewals: (r: typeof first) => r.totals.renew ?? 0,
            logins: (r: typeof first) => r.totals.login ?? 0,
            vaultRequestsPerSecond: (r: typeof first) => r.vaultRequestsPerSecond,
            rolesPeak: (r: typeof first) => r.postgresRoles.peak,
            ...(MODE === 'agent' ? { agentsAnon: (r: typeof first) => r.agents?.peakAnonMiB ?? 0, agentsPss: (r: typeof first) => r.agents?.peakPssMiB ?? 0, agentsCpu: (r: typeof first) => r.agents?.cpuSeconds ?? 0 } : {}),
          }).map(([name, of]) => [name, of(first) === 0 ? null : round(of(last) / of(first) / (last.replicas / first.replicas), 2)]),
        )
      : undefined;
  if (growth) console.log(`growth ${first?.replicas} → ${last?.replicas} replicas, per replica (1 = linear): ${JSON.stringify(growth)}`);
  const met = {
    allStarted: results.every((r) => r.replicasNeverStarted === 0),
    leasesPerReplicaPerTtl: results.every((r) => r.perReplicaPerTtl.leasesIssued <= TARGETS.leasesPerReplicaPerTtlMax),
    rolesReturnToZero: results.every((r) => r.postgresRoles.settledToZero),
  };
  console.log(
    JSON.stringify({
      bench: 'lease-economy',
      mode: MODE,
      ...(MODE === 'agent' ? { agentShutdown: SHUTDOWN } : {}),
      ttlSeconds: TTL_S,
      maxTtlSeconds: 3 * TTL_S,
      results,
      ...(growth ? { growth: { from: first?.replicas, to: last?.replicas, perReplica: growth } } : {}),
      targets: TARGETS,
      met,
    }),
  );
} finally {
  await fleet?.stop().catch(() => undefined);
  await proxy.close();
  await admin.end().catch(() => undefined);
  await Promise.all([db.stop(), bao.stop()]);
}
