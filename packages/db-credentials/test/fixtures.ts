// Shared set-up for the integration tests: real PostgreSQL and OpenBao from
// the testbed, the seed's database engine, log capture, and probes of what is
// left behind (backends, leases, roles, timers).
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import pg from 'pg';
import assert from 'node:assert/strict';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { VaultClient } from '@rotor/vault-client';
import { SecretSet, assertNoSecretsInLogs, freePort, waitFor, vaultAdmin, type OpenBaoDevServer, type PostgresServer } from '@rotor/testbed';

export const SELECT_ONLY = `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';
GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";`;

/** The seed's users table and rows, then the database engine with the given roles. */
export async function setUpSeed(db: PostgresServer, bao: OpenBaoDevServer, roles: Record<string, { defaultTtl: string; maxTtl: string }>): Promise<VaultClient> {
  await withAdmin(db, async (c) => {
    await c.query('CREATE TABLE users (id serial NOT NULL UNIQUE, title varchar(255) NOT NULL, name varchar(255))');
    await c.query(`INSERT INTO users(id, title, name) VALUES (1, 'sre', 'sakib'), (2, 'manager', 'hanifa')`);
  });
  const root = new VaultClient({ address: bao.address, token: bao.rootToken });
  await vaultAdmin.enableMount(root, 'database', { type: 'database' });
  await vaultAdmin.writeConfig(root, 'postgres', {
    pluginName: 'postgresql-database-plugin',
    allowedRoles: Object.keys(roles),
    connectionUrl: db.vaultConnectionUrl(),
    username: db.superuser,
    password: db.superuserPassword,
  });
  for (const [name, ttl] of Object.entries(roles)) {
    await vaultAdmin.writeRole(root, name, { dbName: 'postgres', creationStatements: [SELECT_ONLY], defaultTtl: ttl.defaultTtl, maxTtl: ttl.maxTtl });
  }
  return root;
}

/** The seed's app-policy: the least a credential source needs. */
export async function writeAppPolicy(root: VaultClient): Promise<void> {
  await vaultAdmin.writePolicy(
    root,
    'app-policy',
    `path "database/creds/*" { capabilities = ["read"] }
path "sys/leases/renew" { capabilities = ["update"] }
path "sys/leases/revoke" { capabilities = ["update"] }
path "auth/token/renew-self" { capabilities = ["update"] }
path "auth/token/revoke-self" { capabilities = ["update"] }
path "auth/token/lookup-self" { capabilities = ["read"] }`,
  );
}

/** AppRole login for the service, with app-policy. */
export async function setUpAppRole(root: VaultClient, role: string, tokenTtl = '1h', tokenMaxTtl = '4h'): Promise<{ roleId: string; secretId: string }> {
  await writeAppPolicy(root);
  const auths = await root.request<{ data?: Record<string, unknown> }>('GET', 'sys/auth');
  if (!auths?.data || !('approle/' in auths.data)) await vaultAdmin.enableAuth(root, 'approle', { type: 'approle' });
  await root.request('POST', `auth/approle/role/${role}`, { body: { token_policies: 'app-policy', token_ttl: tokenTtl, token_max_ttl: tokenMaxTtl } });
  const roleId = await root.request<{ data: { role_id: string } }>('GET', `auth/approle/role/${role}/role-id`);
  const secretId = await root.request<{ data: { secret_id: string } }>('POST', `auth/approle/role/${role}/secret-id`, { body: {} });
  if (!roleId || !secretId) throw new Error('approle set-up returned nothing');
  return { roleId: roleId.data.role_id, secretId: secretId.data.secret_id };
}

export async function withAdmin<T>(db: PostgresServer, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: db.url(), connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Backends logged in as Vault-issued users (name prefix "v-"). */
export async function vaultUserBackends(db: PostgresServer): Promise<string[]> {
  return withAdmin(db, async (c) => (await c.query<{ usename: string }>(`SELECT usename FROM pg_stat_activity WHERE usename LIKE 'v-%'`)).rows.map((r) => r.usename));
}

export async function roleExists(db: PostgresServer, name: string): Promise<boolean> {
  return withAdmin(db, async (c) => ((await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount ?? 0) > 0);
}

/** Lease ids Vault still holds under database/creds/<role>/. */
export async function liveLeases(root: VaultClient, role: string): Promise<string[]> {
  try {
    const answer = await root.request<{ data: { keys: string[] } }>('LIST', `sys/leases/lookup/database/creds/${role}/`);
    return (answer?.data.keys ?? []).map((k) => `database/creds/${role}/${k}`);
  } catch (err) {
    if ((err as { status?: number }).status === 404) return [];
    throw err;
  }
}

/** A pino logger writing into memory, to scan every line for secrets. */
export function captureLogs(): { logger: Logger; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), text: () => chunks.join('') };
}

/**
 * No secret of any kind in the captured log, which must not be empty (testbed's
 * shared scan: also fails on JWT- and Vault-token-shaped strings).
 */
export function assertNoSecrets(logs: string, secrets: Record<string, Iterable<string>>): void {
  const set = new SecretSet();
  for (const [kind, values] of Object.entries(secrets)) for (const value of values) set.add(kind, value);
  assertNoSecretsInLogs([{ name: 'captured log', text: logs }], set);
}

/** A VaultClient that remembers every token given to a client made from it: the source's login tokens. */
export class TokenRecordingVault extends VaultClient {
  readonly tokens: string[] = [];
  override withToken(token: string): VaultClient {
    this.tokens.push(token);
    return super.withToken(token);
  }
}

/** Waits for a synchronous condition, with a deadline. */
export function until(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<true> {
  return waitFor(what, () => Promise.resolve(condition() ? true : undefined), { timeoutMs, intervalMs: 25 });
}

/** Count of live timers in this process, to prove stop() leaves none behind. */
export function timerCount(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

/**
 * Query loops against `query`, counting successes and failures (with the
 * first errors kept), until stopped.
 */
export class QueryLoad {
  ok = 0;
  readonly failures: unknown[] = [];
  readonly #running: Promise<void>[] = [];
  #stopped = false;

  constructor(loops: number, query: () => Promise<unknown>) {
    for (let i = 0; i < loops; i++) {
      this.#running.push(
        (async () => {
          while (!this.#stopped) {
            try {
              await query();
              this.ok++;
            } catch (err) {
              this.failures.push(err);
            }
            // Yield so timers and I/O callbacks of the code under test get their turn.
            await new Promise<void>((resolve) => setImmediate(resolve));
          }
        })(),
      );
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#running);
  }
}

/**
 * A TCP relay in front of the real OpenBao: `cut()` closes the listener and
 * every connection (clients then get ECONNREFUSED), `restore()` listens again
 * on the same port. This makes Vault really unreachable for one client only.
 */
export class Relay {
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  port = 0;

  constructor(targetAddress: string) {
    const url = new URL(targetAddress);
    this.#target = { host: url.hostname, port: Number(url.port) };
  }

  get address(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.port = await freePort('127.0.0.1');
    await this.restore();
  }

  async restore(): Promise<void> {
    const server = createServer((inbound) => {
      const outbound = connect(this.#target);
      for (const s of [inbound, outbound]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
  }

  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** rotor_db_credentials_rotations_total by reason. */
export async function rotationsByReason(registry: Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric('rotor_db_credentials_rotations_total')?.get();
  const byReason: Record<string, number> = {};
  for (const v of metric?.values ?? []) if (v.value > 0) byReason[String(v.labels.reason)] = (byReason[String(v.labels.reason)] ?? 0) + v.value;
  return byReason;
}

/**
 * The pool's one-shot retry on refused credentials is a recovery path: normal
 * rotation must never need it (no auth-failure rotation, no "refused" warning).
 */
export async function assertRecoveryUnused(registry: Registry, logs: string): Promise<void> {
  assert.equal((await rotationsByReason(registry))['auth-failure'] ?? 0, 0, 'no rotation was forced by refused credentials');
  assert.doesNotMatch(logs, /database refused the credentials/, 'the pool never saw refused credentials');
}
