// Benchmark of `rotor configure` against a real dev OpenBao and PostgreSQL:
//  - apply of the shipped seed config (deploy/vault/config.yaml) on an empty server,
//    and the no-op re-apply that follows;
//  - plan time for 10, 100 and 1000 database roles, both with the reads from Vault
//    (what `rotor configure plan` does) and the pure planning step alone.
// Prints readable lines, then one JSON line with every figure.
//   node --import tsx --conditions=rotor-source bench/configure/main.ts
import { performance } from 'node:perf_hooks';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startOpenBao, startPostgres } from '@rotor/testbed';
import type { OpenBaoDevServer, PostgresServer } from '@rotor/testbed';
import { applyPlan, loadConfig, parseConfig, planChanges, readLiveState, writeCount } from '@rotor/configure';
import { countingClient, createUsersTable, shippedConfigFor } from '../../packages/configure/test/helpers.ts';

const ROLE_COUNTS = [10, 100, 1000];
const REPEATS = 3;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, performance.now() - start];
}

/** A config with `n` database roles under their own mount (no connection check: the plan is what is measured). */
function manyRoles(db: PostgresServer, n: number): string {
  const roles = Array.from(
    { length: n },
    (_, i) => `      - name: role-${i}\n        db_name: pg\n        creation_statements: ['CREATE ROLE "{{name}}";']\n        default_ttl: ${60 + i}s\n`,
  ).join('');
  return `secrets:
  - path: bench
    type: database
    connections:
      - name: pg
        plugin_name: postgresql-database-plugin
        connection_url: ${db.vaultConnectionUrl()}
        allowed_roles: ["*"]
        username: ${db.superuser}
        password: { fromEnv: PG_ROOT_PASSWORD }
        verify_connection: false
    roles:
${roles}`;
}

async function main(): Promise<void> {
  let db: PostgresServer | undefined;
  let bao: OpenBaoDevServer | undefined;
  let dir: string | undefined;
  try {
    [db, bao] = await Promise.all([startPostgres(), startOpenBao({ mode: 'dev' })]);
    const server = { db, bao };
    await createUsersTable(db);
    const seed = shippedConfigFor(db);
    dir = seed.dir;
    const env = { PG_ROOT_PASSWORD: db.superuserPassword };

    const run = async (file: string): Promise<number> => {
      const { client, writes } = countingClient(server.bao.address, server.bao.rootToken);
      const desired = loadConfig(file, { env });
      await applyPlan(client, planChanges(desired, await readLiveState(client, desired), { prune: false }));
      return writes.length;
    };
    const [seedWrites, seedApplyMs] = await timed(() => run(seed.file));
    const [reapplyWrites, seedReapplyMs] = await timed(() => run(seed.file));
    console.log(`seed apply on an empty server: ${seedApplyMs.toFixed(0)} ms, ${seedWrites} writes; re-apply: ${seedReapplyMs.toFixed(0)} ms, ${reapplyWrites} writes`);

    const plans: { roles: number; readAndPlanMs: number; planOnlyMs: number; readAndPlanUsPerRole: number }[] = [];
    for (const n of ROLE_COUNTS) {
      const text = manyRoles(db, n);
      const file = join(dir, `roles-${n}.yaml`);
      writeFileSync(file, text);
      await run(file);
      const { client } = countingClient(bao.address, bao.rootToken);
      const readAndPlan: number[] = [];
      const planOnly: number[] = [];
      for (let i = 0; i < REPEATS; i++) {
        const [live, readMs] = await timed(() => readLiveState(client, loadConfig(file, { env })));
        const [plan, planMs] = await timed(() => Promise.resolve(planChanges(parseConfig(text, file, { env }), live, { prune: false })));
        if (writeCount(plan) !== 0) throw new Error(`plan for ${n} roles after apply is not empty`);
        readAndPlan.push(readMs + planMs);
        planOnly.push(planMs);
      }
      const entry = { roles: n, readAndPlanMs: median(readAndPlan), planOnlyMs: median(planOnly), readAndPlanUsPerRole: (median(readAndPlan) * 1000) / n };
      plans.push(entry);
      console.log(`plan with ${n} roles: ${entry.readAndPlanMs.toFixed(1)} ms with reads (${entry.readAndPlanUsPerRole.toFixed(0)} µs/role), ${entry.planOnlyMs.toFixed(1)} ms planning alone`);
    }
    const round = (x: number): number => Math.round(x * 10) / 10;
    console.log(
      JSON.stringify({
        bench: 'configure',
        seedApplyMs: round(seedApplyMs),
        seedWrites,
        seedReapplyMs: round(seedReapplyMs),
        seedReapplyWrites: reapplyWrites,
        plan: plans.map((p) => ({ roles: p.roles, readAndPlanMs: round(p.readAndPlanMs), planOnlyMs: round(p.planOnlyMs), readAndPlanUsPerRole: round(p.readAndPlanUsPerRole) })),
      }),
    );
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await Promise.all([db?.stop(), bao?.stop()]);
  }
}

await main();
