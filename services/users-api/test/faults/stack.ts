// The process testbed for the fault matrix (issue 13): PostgreSQL with the
// seed's table; a 3-node OpenBao raft cluster initialized, joined and kept
// unsealed by the Rotor unsealer (in-process, as its Deployment runs it, with
// a file key store); Vault configured by `rotor configure apply` from a copy of
// deploy/vault/config.yaml (the shipped roles and statements; only addresses,
// TTLs and the Kubernetes auth, which needs a cluster, differ); an approle login
// for users-api; users-api as a child process (main.ts) reaching Vault through
// a VaultTap that follows the raft leader like the `vault-active` Service; HTTP
// load from this process. One stack per test file.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { pino } from 'pino';
import { parse, stringify } from 'yaml';
import {
  SecretSet,
  ServerProcess,
  VaultTap,
  assertNoSecretsInLogs,
  freePort,
  kubeOk,
  readLog,
  startKubeApiserver,
  startOpenBaoCluster,
  startPostgres,
  waitFor,
  vaultAdmin,
  type KubeApiserver,
  type LogText,
  type OpenBaoCluster,
  type OpenBaoNode,
  type PostgresServer,
} from '@rotor/testbed';
import { ConfigMapPauseSwitch, FileKeyStore, StaticDiscovery, Unsealer, loadKubeClients, type UnsealKeys } from '@rotor/unsealer';
import { VaultClient, type Health } from '@rotor/vault-client';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const MAIN = join(REPO, 'services/users-api/src/main.ts');

export interface FaultStackOptions {
  /** TTLs of the database roles (config.yaml ships 1 h / 24 h). */
  roleTtl?: { default: string; max: string };
  /** rotate-root as config.yaml ships it (default off: most faults do not need it). */
  rotateRoot?: boolean;
  /** Run the OpenBao nodes as these uids/gids (one each), e.g. to cut one node's traffic by owner. */
  clusterRunAs?: readonly { uid: number; gid: number }[];
  /** Where Vault reaches PostgreSQL (e.g. a relay in between, started here); default the server itself. */
  vaultDbAddress?: (db: PostgresServer) => Promise<{ host: string; port: number }>;
  /**
   * Give the unsealer its pause switch as deployed (ConfigMap vault/vault-unsealer, docs/unsealer.md)
   * on a real kube-apiserver started here; `rotor unseal pause|resume` then work with `stack.kube`'s kubeconfig.
   */
  pauseSwitch?: boolean;
}

/** deploy/vault/config.yaml as parsed, the parts the stack changes. */
export interface VaultConfig {
  auth?: unknown[];
  policies: { name: string; file?: string; rules?: string }[];
  secrets: { type: string; connections?: Record<string, unknown>[]; roles?: Record<string, unknown>[] }[];
}

export interface UsersApiProcess {
  name: string;
  url: string;
  process: ServerProcess;
  log(): string;
  /** users-api's own /metrics text. */
  metrics(): Promise<string>;
  /** rotor_db_credentials_rotations_total by reason. */
  rotations(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/** A counter's samples by one label, from Prometheus text. */
export function samplesBy(text: string, metric: string, label: string): Record<string, number> {
  const by: Record<string, number> = {};
  const pattern = new RegExp(`^${metric}\\{(?:[^}]*,)?${label}="([^"]*)"[^}]*\\} (\\S+)$`);
  for (const line of text.split('\n')) {
    const m = pattern.exec(line);
    const value = Number(m?.[2]);
    if (m?.[1] !== undefined && Number.isFinite(value) && value > 0) by[m[1]] = (by[m[1]] ?? 0) + value;
  }
  return by;
}

export class FaultStack {
  readonly secrets = new SecretSet();
  readonly dir: string;
  readonly db: PostgresServer;
  readonly cluster: OpenBaoCluster;
  readonly unsealer: Unsealer;
  readonly keyStore: FileKeyStore;
  readonly tap: VaultTap;
  /** The API server of the pause switch (option `pauseSwitch`). */
  readonly kube: KubeApiserver | undefined;
  /** The keys stored at bootstrap: they must never change. */
  readonly keys: UnsealKeys;
  /** The cluster id at bootstrap: the same cluster must come back after every fault. */
  readonly clusterId: string;
  approle = { roleId: '', secretId: '' };
  /** What `rotor configure apply` printed (scanned with the logs). */
  configureOutput = '';
  readonly #unsealerLog: () => string;
  readonly #adminPool: pg.Pool;
  readonly #apis: UsersApiProcess[] = [];
  readonly #options: FaultStackOptions;
  readonly #dbTarget: { host: string; port: number };

  private constructor(parts: {
    dir: string;
    db: PostgresServer;
    cluster: OpenBaoCluster;
    unsealer: Unsealer;
    keyStore: FileKeyStore;
    unsealerLog: () => string;
    keys: UnsealKeys;
    clusterId: string;
    options: FaultStackOptions;
    dbTarget: { host: string; port: number };
    kube: KubeApiserver | undefined;
  }) {
    this.kube = parts.kube;
    this.#options = parts.options;
    this.#dbTarget = parts.dbTarget;
    this.dir = parts.dir;
    this.db = parts.db;
    this.cluster = parts.cluster;
    this.unsealer = parts.unsealer;
    this.keyStore = parts.keyStore;
    this.#unsealerLog = parts.unsealerLog;
    this.keys = parts.keys;
    this.clusterId = parts.clusterId;
    this.#adminPool = new pg.Pool({ connectionString: parts.db.url(), max: 2, connectionTimeoutMillis: 5_000 });
    // Admin connections die when PostgreSQL restarts: expected in these tests.
    this.#adminPool.on('error', () => undefined);
    this.tap = new VaultTap({ target: () => this.activeAddress(10_000), secrets: this.secrets });
  }

  static async start(options: FaultStackOptions = {}): Promise<FaultStack> {
    const dir = mkdtempSync(join(tmpdir(), 'rotor-faults-'));
    const started: { db?: PostgresServer; cluster?: OpenBaoCluster; unsealer?: Unsealer; kube?: KubeApiserver | undefined } = {};
    try {
      const [db, cluster, kube] = await Promise.all([
        startPostgres(),
        startOpenBaoCluster({ nodes: 3, ...(options.clusterRunAs ? { runAs: options.clusterRunAs } : {}) }),
        options.pauseSwitch ? startKubeApiserver() : undefined,
      ]);
      Object.assign(started, { db, cluster, kube });
      let pause: ConfigMapPauseSwitch | undefined;
      if (kube) {
        await kubeOk(kube, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'vault' } });
        const { core, config } = loadKubeClients(kube.kubeconfigPath);
        pause = new ConfigMapPauseSwitch(core, config, { namespace: 'vault', name: 'vault-unsealer' });
      }
      await sql(db, 'CREATE TABLE users (id serial NOT NULL UNIQUE, title varchar(255) NOT NULL, name varchar(255))');
      await sql(db, `INSERT INTO users (id, title, name) VALUES (1, 'sre', 'sakib'), (2, 'manager', 'hanifa')`);
      await sql(db, `SELECT setval('users_id_seq', 2)`);

      const chunks: string[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          chunks.push(chunk.toString('utf8'));
          done();
        },
      });
      const keyStore = new FileKeyStore(join(dir, 'keys.json'));
      const unsealer = new Unsealer({ discovery: new StaticDiscovery(cluster.nodes.map((n) => n.address)), keyStore, logger: pino({ level: 'debug' }, sink), ...(pause ? { pause } : {}) });
      started.unsealer = unsealer;
      unsealer.start();
      const keys = await waitFor('the unsealer to store the keys', () => keyStore.load(), { timeoutMs: 90_000, intervalMs: 200 });
      assert.ok(keys.rootToken, 'the root token is kept (policy "keep")');
      const clusterId = await waitForHealthyCluster(cluster, keys.rootToken);
      const dbTarget = (await options.vaultDbAddress?.(db)) ?? { host: db.host, port: db.port };
      const stack = new FaultStack({ dir, db, cluster, unsealer, keyStore, unsealerLog: () => chunks.join(''), keys, clusterId, options, dbTarget, kube });
      for (const key of keys.keys) stack.secrets.addKey('unseal key', key);
      stack.secrets.add('root token', keys.rootToken);
      stack.secrets.add('postgres superuser password', db.superuserPassword);
      await stack.#configure();
      await stack.tap.start();
      return stack;
    } catch (err) {
      await started.unsealer?.stop().catch(() => undefined);
      await Promise.all([started.cluster?.stop(), started.db?.stop(), started.kube?.stop()]);
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * A copy of deploy/vault/config.yaml for this stack (file path returned): the shipped roles
   * and statements; only addresses, TTLs and rotate-root differ, and the Kubernetes auth
   * (which needs an API server) is left out. `mutate` may change it further.
   */
  writeConfig(name: string, mutate: (config: VaultConfig) => void = () => undefined): string {
    const options = this.#options;
    const config = parse(readFileSync(join(REPO, 'deploy/vault/config.yaml'), 'utf8')) as VaultConfig;
    delete config.auth;
    for (const policy of config.policies) if (policy.file !== undefined) policy.file = join(REPO, 'deploy/vault', policy.file);
    const target = this.#dbTarget;
    for (const engine of config.secrets.filter((s) => s.type === 'database')) {
      for (const connection of engine.connections ?? []) {
        connection.connection_url = `postgresql://{{username}}:{{password}}@${target.host}:${target.port}/postgres?sslmode=disable`;
        connection.username = this.db.superuser;
        connection.rotate_root = options.rotateRoot ?? false;
      }
      for (const role of engine.roles ?? []) {
        if (options.roleTtl) Object.assign(role, { default_ttl: options.roleTtl.default, max_ttl: options.roleTtl.max });
      }
    }
    mutate(config);
    const file = join(this.dir, `${name}.yaml`);
    writeFileSync(file, stringify(config), { mode: 0o600 });
    return file;
  }

  /** `rotor configure <plan|apply> --config <file>` against the active node with the root token. */
  async configure(command: 'plan' | 'apply', file: string, extraArgs: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
    const tokenFile = join(this.dir, 'root-token');
    writeFileSync(tokenFile, this.keys.rootToken ?? '', { mode: 0o600 });
    const result = await rotor(['configure', command, '--config', file, '--address', await this.activeAddress(), '--token-file', tokenFile, ...extraArgs], {
      PG_ROOT_PASSWORD: this.db.superuserPassword,
    });
    this.configureOutput += result.stdout + result.stderr;
    return result;
  }

  /** `rotor configure apply` started in the background, its output followed as it comes (to fault it mid-way). */
  async configureInBackground(file: string): Promise<{ output(): string; exited: Promise<number | null> }> {
    const tokenFile = join(this.dir, 'root-token');
    writeFileSync(tokenFile, this.keys.rootToken ?? '', { mode: 0o600 });
    const child = spawn(process.execPath, [join(REPO, 'packages/cli/bin/rotor.js'), 'configure', 'apply', '--config', file, '--address', await this.activeAddress(), '--token-file', tokenFile], {
      cwd: REPO,
      env: cleanEnv({ PG_ROOT_PASSWORD: this.db.superuserPassword }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    const exited = once(child, 'exit').then(([code]) => {
      this.configureOutput += output;
      return code as number | null;
    });
    return { output: () => output, exited };
  }

  /** The shipped configuration, applied by the real `rotor configure apply`; then an approle login for users-api. */
  async #configure(): Promise<void> {
    const applied = await this.configure('apply', this.writeConfig('vault-config'));
    assert.equal(applied.code, 0, `rotor configure apply failed:\n${applied.stderr.slice(-4000)}`);

    const root = await this.root();
    await vaultAdmin.enableAuth(root, 'approle', { type: 'approle' });
    await root.request('POST', 'auth/approle/role/users-api', { body: { token_policies: 'app-policy', token_ttl: '1h', token_max_ttl: '24h' } });
    const roleId = (await root.request<{ data: { role_id: string } }>('GET', 'auth/approle/role/users-api/role-id'))?.data.role_id ?? '';
    const secretId = (await root.request<{ data: { secret_id: string } }>('POST', 'auth/approle/role/users-api/secret-id', { body: {} }))?.data.secret_id ?? '';
    assert.ok(roleId && secretId, 'approle role id and secret id');
    this.approle = { roleId, secretId };
    this.secrets.add('approle secret id', secretId);
  }

  /** The active (leader) node, waiting for one. */
  async activeNode(timeoutMs = 60_000): Promise<OpenBaoNode> {
    return waitFor(
      'an active OpenBao node',
      async () => {
        for (const node of this.cluster.nodes) if ((await health(node))?.status === 200) return node;
        return undefined;
      },
      { timeoutMs, intervalMs: 100 },
    );
  }

  async activeAddress(timeoutMs = 60_000): Promise<string> {
    return (await this.activeNode(timeoutMs)).address;
  }

  /** A root client of the active node. */
  async root(): Promise<VaultClient> {
    return new VaultClient({ address: await this.activeAddress(), token: this.keys.rootToken ?? '', timeoutMs: 10_000 });
  }

  async sql<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]> {
    return (await this.#adminPool.query<R>(text, values)).rows;
  }

  /** Vault-issued roles present in PostgreSQL. */
  async vaultRoles(): Promise<string[]> {
    return (await this.sql<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE 'v-%' ORDER BY rolname`)).map((r) => r.rolname);
  }

  /** users-api (main.ts) as a child process; vault mode with the approle login by default. */
  async startUsersApi(name: string, env: Record<string, string> = {}): Promise<UsersApiProcess> {
    const port = await freePort('127.0.0.1');
    const logFile = join(this.dir, `${name}.log`);
    const child = new ServerProcess({
      name,
      command: process.execPath,
      args: ['--import', 'tsx', '--conditions=rotor-source', MAIN],
      logFile,
      cwd: REPO,
      env: cleanEnv({
        HOST: '127.0.0.1',
        PORT: String(port),
        DB_HOST: this.db.host,
        DB_PORT: String(this.db.port),
        DB_NAME: 'postgres',
        SHUTDOWN_DELAY_MS: '0',
        SHUTDOWN_DRAIN_TIMEOUT_MS: '5000',
        LOG_LEVEL: 'info',
        CREDENTIALS_MODE: 'vault',
        VAULT_ADDR: this.tap.address,
        VAULT_AUTH_METHOD: 'approle',
        VAULT_ROLE_ID: this.approle.roleId,
        VAULT_SECRET_ID: this.approle.secretId,
        VAULT_DB_ROLE: 'db-reader-role',
        ...env,
      }),
    });
    const url = `http://127.0.0.1:${port}`;
    const metrics = async (): Promise<string> => {
      const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) });
      return res.text();
    };
    const api: UsersApiProcess = {
      name,
      url,
      process: child,
      log: () => readLog(logFile).text,
      metrics,
      rotations: async () => samplesBy(await metrics(), 'rotor_db_credentials_rotations_total', 'reason'),
      stop: () => child.stop(15_000),
    };
    this.#apis.push(api);
    await waitFor(
      `${name} to be ready`,
      async () => {
        const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
        await res.body?.cancel();
        return res.status === 200 ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100, signal: child.exitSignal },
    ).catch((err: unknown) => {
      throw child.failure('did not become ready', err);
    });
    return api;
  }

  /** All nodes unsealed with one active and three raft voters; returns the cluster id. */
  async healthy(timeoutMs = 90_000): Promise<string> {
    return waitForHealthyCluster(this.cluster, this.keys.rootToken ?? '', timeoutMs);
  }

  /**
   * Nothing lost, nothing re-initialized: the key store holds the keys of the
   * bootstrap, the unsealer initialized exactly once and raised no alarm, and
   * every node reports the bootstrap's cluster id.
   */
  async assertSameCluster(): Promise<void> {
    const stored = await this.keyStore.load();
    assert.deepEqual(stored?.keys, this.keys.keys, 'the stored unseal keys are the bootstrap keys');
    assert.equal(stored?.rootToken, this.keys.rootToken);
    assert.equal(await this.unsealerActions('initialize'), 1, 'initialized exactly once: no re-init');
    assert.equal(this.unsealer.alarm, undefined, `no unsealer alarm (${this.unsealer.alarm?.message ?? ''})`);
    assert.equal(this.unsealer.state, 'running');
    for (const node of this.cluster.nodes) {
      const h = await health(node);
      assert.equal(h?.clusterId, this.clusterId, `${node.id} is in the bootstrap's cluster`);
    }
  }

  /** rotor_unsealer_actions_total of one action (and outcome: ok, failed, rejected, pending). */
  async unsealerActions(action: string, outcome?: string): Promise<number> {
    const metric = (await this.unsealer.registry.getMetricsAsJSON()).find((m) => m.name === 'rotor_unsealer_actions_total');
    const values = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
    return values.filter((v) => v.labels.action === action && (outcome === undefined || v.labels.outcome === outcome)).reduce((n, v) => n + v.value, 0);
  }

  /** Every log of the stack (nodes, PostgreSQL, unsealer, users-api processes, configure) scanned for every secret it knows. */
  assertNoSecretsInAnyLog(extra: LogText[] = []): void {
    const logs: LogText[] = [
      ...this.cluster.nodes.map((n) => readLog(n.logFile, `openbao ${n.id}`)),
      readLog(this.db.logFile, 'postgres'),
      { name: 'unsealer', text: this.#unsealerLog() },
      { name: 'rotor configure apply', text: this.configureOutput },
      ...this.#apis.map((a) => ({ name: a.name, text: a.log() })),
      ...extra,
    ];
    assertNoSecretsInLogs(logs, this.secrets);
  }

  unsealerLog(): string {
    return this.#unsealerLog();
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.#apis.map((a) => a.stop()));
    await this.tap.stop();
    if (this.unsealer.state === 'running' || this.unsealer.state === 'halted') await this.unsealer.stop().catch(() => undefined);
    await this.#adminPool.end().catch(() => undefined);
    await Promise.all([this.cluster.stop(), this.db.stop(), this.kube?.stop()]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const probe = (address: string, token?: string): VaultClient => new VaultClient({ address, timeoutMs: 2_000, retry: { attempts: 1 }, ...(token ? { token } : {}) });

export async function health(node: OpenBaoNode): Promise<Health | undefined> {
  if (!node.running) return undefined;
  return probe(node.address).sys.health().catch(() => undefined);
}

/** All nodes unsealed, exactly one active, raft lists all as voters with one leader; the cluster id. */
async function waitForHealthyCluster(cluster: OpenBaoCluster, rootToken: string, timeoutMs = 90_000): Promise<string> {
  return waitFor(
    'all nodes unsealed, one active, three raft voters',
    async () => {
      const states = await Promise.all(cluster.nodes.map((n) => health(n)));
      if (!states.every((h) => h?.initialized === true && !h.sealed)) return undefined;
      const active = cluster.nodes.filter((_, i) => states[i]?.status === 200);
      const ids = new Set(states.map((h) => h?.clusterId));
      if (active.length !== 1 || !active[0] || ids.size !== 1) return undefined;
      const { servers } = await probe(active[0].address, rootToken).sys.raftConfiguration();
      if (servers.length !== cluster.nodes.length || !servers.every((s) => s.voter) || servers.filter((s) => s.leader).length !== 1) return undefined;
      return states[0]?.clusterId;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

async function sql(db: PostgresServer, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: db.url(), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** The environment of a child process: ours without any Vault/OpenBao settings. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('VAULT_') && !key.startsWith('BAO_')) env[key] = value;
  return { ...env, ...extra };
}

function rotor(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(REPO, 'packages/cli/bin/rotor.js'), ...args], { cwd: REPO, env: cleanEnv(env), timeout: 180_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}
