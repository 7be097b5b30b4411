// Benchmark of credential rotation under load, on a real OpenBao (dev) and PostgreSQL:
//  - steady: query loops on a pool whose lease is long (no rotation);
//  - rotation: the same loops while VaultLeaseSource re-issues every ~1.3 s
//    (default_ttl 2s, max_ttl 3s), 100 rotations measured after a warm-up.
// A rotation window runs from new credentials being issued until the old pool
// has drained and closed. Prints readable lines, then one JSON line.
//   node --import tsx --conditions=rotor-source bench/rotation/main.ts
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { VaultClient } from '@rotor/vault-client';
import { startOpenBao, startPostgres } from '@rotor/testbed';
import { RotatingPool, VaultLeaseSource } from '@rotor/db-credentials';
import { setUpAppRole, setUpSeed } from '../../packages/db-credentials/test/fixtures.ts';

const LOOPS = 8;
const STEADY_MS = 10_000;
const WARMUP_ROTATIONS = 5;
const ROTATIONS = 100;
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

interface Sample {
  ms: number;
  inWindow: boolean;
}

/** Query loops recording each latency and whether a rotation window was open at its start. */
class Load {
  readonly samples: Sample[] = [];
  failed = 0;
  firstError: string | undefined;
  windowOpen = false;
  recording = false;
  #stopped = false;
  readonly #loops: Promise<void>[] = [];

  constructor(pool: RotatingPool) {
    for (let i = 0; i < LOOPS; i++) {
      this.#loops.push(
        (async () => {
          for (let n = 0; !this.#stopped; n++) {
            const inWindow = this.windowOpen;
            const start = performance.now();
            try {
              await pool.query('SELECT id, title, name FROM users WHERE id = $1', [(n % 2) + 1]);
              if (this.recording) this.samples.push({ ms: performance.now() - start, inWindow });
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

function summary(samples: number[], seconds: number): { qps: number; p50Ms: number; p99Ms: number; queries: number } {
  return { qps: Math.round(samples.length / seconds), p50Ms: +percentile(samples, 50).toFixed(2), p99Ms: +percentile(samples, 99).toFixed(2), queries: samples.length };
}

const [db, bao] = await Promise.all([startPostgres(), startOpenBao({ mode: 'dev' })]);
try {
  const root = await setUpSeed(db, bao, { 'steady-role': { defaultTtl: '1h', maxTtl: '24h' }, 'bench-role': { defaultTtl: '2s', maxTtl: '3s' } });
  const approle = await setUpAppRole(root, 'app');
  const vault = new VaultClient({ address: bao.address });
  const service = async (role: string): Promise<{ source: VaultLeaseSource; pool: RotatingPool }> => {
    const source = new VaultLeaseSource({ vault, login: { method: 'approle', ...approle }, role });
    await source.start();
    const pool = new RotatingPool({ source, pg: { host: db.host, port: db.port, database: 'postgres', max: LOOPS } });
    await pool.start();
    return { source, pool };
  };

  // Steady state: no rotation.
  const steadySvc = await service('steady-role');
  const steadyLoad = new Load(steadySvc.pool);
  await delay(2_000);
  steadyLoad.recording = true;
  const steadyStart = performance.now();
  await delay(STEADY_MS);
  steadyLoad.recording = false;
  const steadySeconds = (performance.now() - steadyStart) / 1000;
  await steadyLoad.stop();
  await steadySvc.pool.stop();
  await steadySvc.source.stop();
  const steady = summary(steadyLoad.samples.map((s) => s.ms), steadySeconds);
  console.log(`steady: ${steady.qps} queries/s, p50 ${steady.p50Ms} ms, p99 ${steady.p99Ms} ms (${LOOPS} loops, ${STEADY_MS / 1000} s)`);

  // Rotations under the same load.
  const { source, pool } = await service('bench-role');
  const load = new Load(pool);
  let rotations = 0;
  let latest = source.current().username;
  const windowsMs: number[] = [];
  let windowStart = 0;
  source.subscribe((creds) => {
    rotations++;
    latest = creds.username;
    windowStart = performance.now();
    load.windowOpen = true;
  });
  // The window closes once the pool serves the new user and the old pool is gone.
  const watcher = setInterval(() => {
    if (load.windowOpen && pool.username === latest && pool.stats().generations === 1) {
      load.windowOpen = false;
      if (load.recording) windowsMs.push(performance.now() - windowStart);
    }
  }, 5);
  let rssBefore = 0;
  let rssAfter = 0;
  let rotationSeconds = 0;
  try {
    while (rotations < WARMUP_ROTATIONS) await delay(50);
    rssBefore = rssMb();
    const counted = rotations;
    load.recording = true;
    const rotationStart = performance.now();
    while (rotations - counted < ROTATIONS) await delay(50);
    load.recording = false;
    rotationSeconds = (performance.now() - rotationStart) / 1000;
    rssAfter = rssMb();
  } finally {
    clearInterval(watcher);
    await load.stop();
    await pool.stop();
    await source.stop();
  }
  const all = summary(load.samples.map((s) => s.ms), rotationSeconds);
  const inWindows = summary(load.samples.filter((s) => s.inWindow).map((s) => s.ms), rotationSeconds);
  const failed = steadyLoad.failed + load.failed;
  console.log(`rotation phase: ${ROTATIONS} rotations in ${rotationSeconds.toFixed(1)} s, ${all.qps} queries/s, p50 ${all.p50Ms} ms, p99 ${all.p99Ms} ms`);
  console.log(`inside rotation windows: ${inWindows.queries} queries, p50 ${inWindows.p50Ms} ms, p99 ${inWindows.p99Ms} ms; window median ${percentile(windowsMs, 50).toFixed(0)} ms, p99 ${percentile(windowsMs, 99).toFixed(0)} ms`);
  console.log(`failed queries: ${failed}${load.firstError ?? steadyLoad.firstError ? ` (first: ${load.firstError ?? steadyLoad.firstError})` : ''}`);
  console.log(`RSS before/after ${ROTATIONS} rotations: ${rssBefore.toFixed(1)} / ${rssAfter.toFixed(1)} MiB`);
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
      steady,
      rotation: { ...all, rotations: ROTATIONS, seconds: +rotationSeconds.toFixed(1) },
      rotationWindows: { ...inWindows, count: windowsMs.length, medianMs: +percentile(windowsMs, 50).toFixed(1), p99Ms: +percentile(windowsMs, 99).toFixed(1) },
      failedQueries: failed,
      rotationsDone: rotations,
      rssMb: { before: +rssBefore.toFixed(1), after: +rssAfter.toFixed(1), growth: +(rssAfter - rssBefore).toFixed(1) },
      p99RatioWindowVsSteady: +p99Ratio.toFixed(2),
      targets: TARGETS,
      targetsMet,
    }),
  );
} finally {
  await Promise.all([db.stop(), bao.stop()]);
}
