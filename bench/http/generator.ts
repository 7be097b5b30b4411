// bench/http's load generator, in its own process (forked by main.ts, driven over IPC) so that
// it never shares an event loop with a contender: autocannon at a fixed concurrency on
// keep-alive connections, GET /users/<random id>. One generator per contender lives across
// the alternating rounds; latencies of every round go into one perf_hooks histogram, and
// each round reports the generator's own CPU so that a saturated generator shows.
import { createHistogram } from 'node:perf_hooks';
import autocannon from 'autocannon';

export interface RoundRequest {
  url: string;
  connections: number;
  seconds: number;
  rows: number;
  /** A warm-up round: figures returned, latencies not kept. */
  warmUp?: boolean;
}

export interface RoundResult {
  requests: number;
  /** Non-200 answers and request errors (timeouts, resets). */
  errors: number;
  seconds: number;
  /** The generator's CPU during the round, in cores (1 = one core busy). */
  cpuCores: number;
}

export interface Totals {
  p50Ms: number;
  p99Ms: number;
}

export type Command = { round: RoundRequest } | { totals: true };
export type Reply = { round: RoundResult } | { totals: Totals };

// Microseconds: autocannon measures each response with process.hrtime.
const latencies = createHistogram();

async function round({ url, connections, seconds, rows, warmUp = false }: RoundRequest): Promise<RoundResult> {
  let requests = 0;
  let errors = 0;
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  let finished: (err: unknown) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => (finished = (err) => (err ? reject(err instanceof Error ? err : new Error('autocannon failed')) : resolve())));
  const instance = autocannon({
    url,
    connections,
    pipelining: 1,
    duration: seconds,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/users/${1 + Math.floor(Math.random() * rows)}` }) }],
  }, (err: unknown) => finished(err));
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status === 200) {
      requests++;
      if (!warmUp) latencies.record(Math.max(1, Math.round(ms * 1000)));
    } else errors++;
  });
  instance.on('reqError', () => errors++);
  await done;
  const wallS = (performance.now() - wall0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { requests, errors, seconds: wallS, cpuCores: Number(((cpu.user + cpu.system) / 1e6 / wallS).toFixed(2)) };
}

process.on('message', (command: Command) => {
  const reply = (r: Reply): void => void process.send?.(r);
  if ('round' in command) {
    round(command.round).then(
      (r) => reply({ round: r }),
      (err: unknown) => {
        process.stderr.write(`generator: ${String(err)}\n`);
        process.exit(1);
      },
    );
  } else {
    reply({ totals: { p50Ms: latencies.percentile(50) / 1000, p99Ms: latencies.percentile(99) / 1000 } });
  }
});
process.on('disconnect', () => process.exit(0));
