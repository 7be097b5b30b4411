// Benchmark of credential rotation under load, on a real OpenBao (dev) and PostgreSQL:
//  - steady: query loops on a pool whose lease is long (no rotation);
//  - rotation: the same loops while VaultLeaseSource re-issues every ~1.3 s
//    (default_ttl = max_ttl = 2s), 100 rotations measured after a warm-up.
// Each of the LOOPS query loops offers RATE_PER_LOOP queries/s (paced, not saturating).
// A rotation window runs from new credentials being issued until the old pool
// has drained and closed (the pool hands the old credentials back to the source).
// Window queries are also split at the swap (before: the new pool logs in; after: the
// old one drains and closes), with the event loop's lag, to show where the time goes;
// bench/rotation/breakdown.ts prices the pieces (a login, a query, a lease) in CPU. Each window
// query is also attributed to what the pool's driver did meanwhile (trace.ts: a login, closing
// the old pool, or neither), with how many of them took over twice the steady p99.
// Prints readable lines, then one JSON line.
//   node --import tsx --conditions=rotor-source bench/rotation/main.ts   (BENCH_ROTATIONS: fewer for a quick look)
import { createHistogram, performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { VaultClient } from '@rotor/vault-client';
import { startOpenBao, startPostgres } from '@rotor/testbed';
import { RotatingPool, VaultLeaseSource } from '@rotor/db-credentials';
import { setUpAppRole, setUpSeed } from '../../packages/db-credentials/test/fixtures.ts';
import { DriverTrace, type Overlap } from './trace.ts';

const LOOPS = 8;
/** Offered load: below saturation, like a service with headroom, so latency shows the rotation's cost, not queueing. */
const RATE_PER_LOOP = 250;
const STEADY_MS = 8_000;
const WARMUP_ROTATIONS = 5;
const ROTATIONS = Number(process.env.BENCH_ROTATIONS ?? 100);
const TARGETS = { failed: 0, rotationP99VsSteady: 2, rssGrowthMb: 20 };

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function rssMb(): number {
  gc();
  return process.memoryUsage().rss / 2 ** 20;
}

function heapMb(): number {
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

/**
 * Latencies in a perf_hooks histogram, recorded in microseconds (constant memory: a sample
 * array of a million queries would itself look like an RSS leak).
 */
class Histogram {
  readonly #h = createHistogram();

  get count(): number {
    return this.#h.count;
  }

  add(ms: number): void {
    this.#h.record(Math.max(1, Math.round(ms * 1000)));
  }

  /** The p-th percentile in ms (NaN when empty). */
  percentile(p: number): number {
    return this.#h.count === 0 ? Number.NaN : this.#h.percentile(p) / 1000;
  }
}

/** Query loops recording latencies, split by whether a rotation window was open at the query's start. */
class Load {
  readonly all = new Histogram();
  readonly inWindows = new Histogram();
  readonly outsideWindows = new Histogram();
  /** Window queries by phase: before the swap (the new pool logs in), after it (the old one drains and ends). */
  readonly opening = new Histogram();
  readonly draining = new Histogram();
  /** Window queries by what overlapped them, and how many of each were slow (over `slowMs`). */
  readonly overlap = { login: new Histogram(), swap: new Histogram(), closing: new Histogram(), quiet: new Histogram() };
  readonly slow = { login: 0, swap: 0, closing: 0, quiet: 0 };
  slowMs = Number.POSITIVE_INFINITY;
  swapped: () => boolean = () => false;
  /** When a query first ran on the new pool in the open window (its first round: fresh connections). */
  swapSeenAt: number | undefined;
  failed = 0;
  firstError: string | undefined;
  windowOpen = false;
  recording = false;
  #stopped = false;
  readonly #loops: Promise<void>[] = [];

  constructor(pool: RotatingPool, trace: DriverTrace) {
    for (let i = 0; i < LOOPS; i++) {
      this.#loops.push(
        (async () => {
          const began = performance.now();
          for (let n = 0; !this.#stopped; n++) {
            const due = began + (n * 1000) / RATE_PER_LOOP;
            const now = performance.now();
            if (due > now) await delay(due - now);
            const inWindow = this.windowOpen;
            const afterSwap = inWindow && this.swapped();
            const overlapped = trace.begin();
            const start = performance.now();
            if (afterSwap) this.swapSeenAt ??= start;
            try {
              await pool.query('SELECT id, title, name FROM users WHERE id = $1', [(n % 2) + 1]);
              if (this.recording) {
                const ms = performance.now() - start;
                this.all.add(ms);
                (inWindow ? this.inWindows : this.outsideWindows).add(ms);
                if (inWindow) {
                  (afterSwap ? this.draining : this.opening).add(ms);
                  const driver: Overlap = overlapped();
                  // Not a login: the first round after the swap (each loop's first query on a fresh connection), or else what the driver did.
                  const by = driver !== 'login' && afterSwap && start - (this.swapSeenAt ?? start) < 1000 / RATE_PER_LOOP ? 'swap' : driver;
                  this.overlap[by].add(ms);
                  if (ms > this.slowMs) this.slow[by]++;
                }
              }
            } catch (err) {
              this.failed++;
              this.firstError ??= err instanceof Error ? err.message : String(err);
            }
          }
        })(),
      );
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
  }
}

function summary(h: Histogram, seconds: number): { qps: number; p50Ms: number; p99Ms: number; queries: number } {
  return { qps: Math.round(h.count / seconds), p50Ms: h.percentile(50), p99Ms: h.percentile(99), queries: h.count };
}

const [db, bao] = await Promise.all([startPostgres(), startOpenBao({ mode: 'dev' })]);
try {
  const root = await setUpSeed(db, bao, { 'steady-role': { defaultTtl: '1h', maxTtl: '24h' }, 'bench-role': { defaultTtl: '2s', maxTtl: '2s' } });
  const approle = await setUpAppRole(root, 'app');
  const vault = new VaultClient({ address: bao.address });
  const service = async (role: string, trace: DriverTrace): Promise<{ source: VaultLeaseSource; pool: RotatingPool }> => {
    const source = new VaultLeaseSource({ vault, login: { method: 'approle', ...approle }, role });
    await source.start();
    const pool = new RotatingPool({ source, driver: trace.driver({ host: db.host, port: db.port, database: 'postgres', max: LOOPS }), verifyQuery: 'SELECT id, title, name FROM users WHERE id = 1' });
    await pool.start();
    return { source, pool };
  };

  // Steady state: no rotation.
  const steadyTrace = new DriverTrace();
  const steadySvc = await service('steady-role', steadyTrace);
  const steadyLoad = new Load(steadySvc.pool, steadyTrace);
  await delay(2_000);
  steadyLoad.recording = true;
  const steadyStart = performance.now();
  await delay(STEADY_MS);
  steadyLoad.recording = false;
  const steadySeconds = (performance.now() - steadyStart) / 1000;
  await steadyLoad.stop();
  await steadySvc.pool.stop();
  await steadySvc.source.stop();
  const steady = summary(steadyLoad.all, steadySeconds);
  console.log(`steady: ${steady.qps} queries/s, p50 ${steady.p50Ms} ms, p99 ${steady.p99Ms} ms (${LOOPS} loops offering ${LOOPS * RATE_PER_LOOP}/s, ${STEADY_MS / 1000} s)`);

  // Rotations under the same load.
  const trace = new DriverTrace();
  const { source, pool } = await service('bench-role', trace);
  const load = new Load(pool, trace);
  load.slowMs = TARGETS.rotationP99VsSteady * steady.p99Ms;
  let rotations = 0;
  let latest = source.current().username;
  const windowsMs: number[] = [];
  let windowStart = 0;
  load.swapped = () => pool.username === latest;
  source.subscribe((creds) => {
    rotations++;
    latest = creds.username;
    windowStart = performance.now();
    load.swapSeenAt = undefined;
    load.windowOpen = true;
  });
  // Where a window's time goes, seen from this process: how late the 5 ms watcher runs
  // (the event loop busy with logins' JS), and how often a query waits for a connection.
  const lag = { inWindows: new Histogram(), outside: new Histogram(), opening: new Histogram(), draining: new Histogram() };
  const waiting = { inWindows: 0, outside: 0, samplesIn: 0, samplesOut: 0 };
  let lastTick = performance.now();
  const watcher = setInterval(() => {
    const now = performance.now();
    if (load.recording) {
      const late = Math.max(0, now - lastTick - 5);
      (load.windowOpen ? lag.inWindows : lag.outside).add(late);
      // Before the swap the new pool logs in (warms up); after it, the old one drains and ends.
      if (load.windowOpen) (pool.username === latest ? lag.draining : lag.opening).add(late);
      const queued = pool.stats().waiting > 0 ? 1 : 0;
      if (load.windowOpen) {
        waiting.samplesIn++;
        waiting.inWindows += queued;
      } else {
        waiting.samplesOut++;
        waiting.outside += queued;
      }
    }
    lastTick = now;
  }, 5);
  // The window closes once the old pool is gone: the pool then hands its credentials back.
  const release = source.release.bind(source);
  source.release = (creds) => {
    if (load.windowOpen && pool.username === latest) {
      load.windowOpen = false;
      if (load.recording) windowsMs.push(performance.now() - windowStart);
    }
    return release(creds);
  };
  let rssBefore = 0;
  let rssAfter = 0;
  let heapBefore = 0;
  let heapAfter = 0;
  let rotationSeconds = 0;
  try {
    while (rotations < WARMUP_ROTATIONS) await delay(50);
    rssBefore = rssMb();
    heapBefore = heapMb();
    const counted = rotations;
    load.recording = true;
    const rotationStart = performance.now();
    while (rotations - counted < ROTATIONS) await delay(50);
    load.recording = false;
    rotationSeconds = (performance.now() - rotationStart) / 1000;
    rssAfter = rssMb();
    heapAfter = heapMb();
  } finally {
    clearInterval(watcher);
    await load.stop();
    await pool.stop();
    await source.stop();
  }
  const all = summary(load.all, rotationSeconds);
  const inWindows = summary(load.inWindows, rotationSeconds);
  const outside = summary(load.outsideWindows, rotationSeconds);
  const failed = steadyLoad.failed + load.failed;
  console.log(`rotation phase: ${ROTATIONS} rotations in ${rotationSeconds.toFixed(1)} s, ${all.qps} queries/s, p50 ${all.p50Ms} ms, p99 ${all.p99Ms} ms`);
  console.log(`inside rotation windows: ${inWindows.queries} queries, p50 ${inWindows.p50Ms} ms, p99 ${inWindows.p99Ms} ms; window median ${percentile(windowsMs, 50).toFixed(0)} ms, p99 ${percentile(windowsMs, 99).toFixed(0)} ms`);
  console.log(`outside rotation windows (same phase): p50 ${outside.p50Ms} ms, p99 ${outside.p99Ms} ms`);
  const diagnostics = {
    eventLoopLagP99Ms: { inWindows: lag.inWindows.percentile(99), outside: lag.outside.percentile(99), opening: lag.opening.percentile(99), draining: lag.draining.percentile(99) },
    windowSamples: { opening: lag.opening.count, draining: lag.draining.count },
    queryP99Ms: { opening: load.opening.percentile(99), draining: load.draining.percentile(99) },
    queries: { opening: load.opening.count, draining: load.draining.count },
    byOverlap: Object.fromEntries(
      (['login', 'swap', 'closing', 'quiet'] as const).map((by) => [by, { queries: load.overlap[by].count, p99Ms: load.overlap[by].percentile(99), slow: load.slow[by] }]),
    ),
    slowOverMs: +load.slowMs.toFixed(3),
    slowPerWindow: +(Object.values(load.slow).reduce((a, b) => a + b, 0) / Math.max(1, windowsMs.length)).toFixed(2),
    loginMsP50: +percentile(trace.loginMs, 50).toFixed(2),
    queuedShare: { inWindows: +(waiting.inWindows / Math.max(1, waiting.samplesIn)).toFixed(4), outside: +(waiting.outside / Math.max(1, waiting.samplesOut)).toFixed(4) },
  };
  console.log(`event-loop lag p99 (5 ms timer): in windows ${diagnostics.eventLoopLagP99Ms.inWindows} ms, outside ${diagnostics.eventLoopLagP99Ms.outside} ms; share of time a query waits for a connection: in windows ${diagnostics.queuedShare.inWindows}, outside ${diagnostics.queuedShare.outside}`);
  console.log(`window queries by what overlapped them (slow: over ${diagnostics.slowOverMs} ms): ${Object.entries(diagnostics.byOverlap).map(([by, o]) => `${by} ${o.queries} (p99 ${o.p99Ms} ms, ${o.slow} slow)`).join(', ')}`);
  console.log(`failed queries: ${failed}${load.firstError ?? steadyLoad.firstError ? ` (first: ${load.firstError ?? steadyLoad.firstError})` : ''}`);
  console.log(`RSS before/after ${ROTATIONS} rotations: ${rssBefore.toFixed(1)} / ${rssAfter.toFixed(1)} MiB (heap used ${heapBefore.toFixed(1)} / ${heapAfter.toFixed(1)} MiB)`);
  const p99Ratio = inWindows.p99Ms / steady.p99Ms;
  const targetsMet = {
    zeroFailed: failed === TARGETS.failed,
    rotationP99: p99Ratio <= TARGETS.rotationP99VsSteady,
    rss: rssAfter - rssBefore <= TARGETS.rssGrowthMb,
  };
  console.log(`targets: 0 failed ${targetsMet.zeroFailed ? 'met' : 'MISSED'}; window p99 / steady p99 = ${p99Ratio.toFixed(2)} (<= ${TARGETS.rotationP99VsSteady}) ${targetsMet.rotationP99 ? 'met' : 'MISSED'}; RSS growth ${(rssAfter - rssBefore).toFixed(1)} MiB (<= ${TARGETS.rssGrowthMb}) ${targetsMet.rss ? 'met' : 'MISSED'}`);
  console.log(
    JSON.stringify({
      bench: 'rotation',
      loops: LOOPS,
      offeredQps: LOOPS * RATE_PER_LOOP,
      steady,
      rotation: { ...all, rotations: ROTATIONS, seconds: +rotationSeconds.toFixed(1) },
      rotationWindows: {
        queries: inWindows.queries,
        p50Ms: inWindows.p50Ms,
        p99Ms: inWindows.p99Ms,
        outsideP99Ms: outside.p99Ms,
        windows: windowsMs.length,
        windowMedianMs: +percentile(windowsMs, 50).toFixed(1),
        windowP99Ms: +percentile(windowsMs, 99).toFixed(1),
      },
      p99RatioWindowVsOutside: +(inWindows.p99Ms / outside.p99Ms).toFixed(2),
      diagnostics,
      failedQueries: failed,
      rotationsDone: rotations,
      rssMb: { before: +rssBefore.toFixed(1), after: +rssAfter.toFixed(1), growth: +(rssAfter - rssBefore).toFixed(1) },
      heapUsedMb: { before: +heapBefore.toFixed(1), after: +heapAfter.toFixed(1) },
      p99RatioWindowVsSteady: +p99Ratio.toFixed(2),
      targets: TARGETS,
      targetsMet,
    }),
  );
} finally {
  await Promise.all([db.stop(), bao.stop()]);
}
