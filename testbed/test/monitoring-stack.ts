// The process-level stand-in for a cluster that monitoring.int.test.ts scrapes: the processes
// whose metrics deploy/monitoring reads, each as its pod would run it.
// - OpenBao x3 from deploy/vault/server.yaml's own server.hcl (only addresses, ports, the data
//   path and node ids changed; no Kubernetes service registration; plain HTTP, so the scrape
//   target's prometheus.io/scheme is http here: the cluster walkthrough scrapes Vault over TLS):
//   its telemetry stanza is what is tested;
// - `rotor unseal --health-port` (the CLI of the unsealer Deployment) initializing, joining and
//   unsealing them, and a second one, started on an empty key store, that halts (keys-missing);
// - users-api as the reader in init-container mode and as the writer in sidecar mode, reading
//   credentials files rendered from real database leases in the agent's format;
// - the alert receiver (deploy/monitoring/alert-receiver.mjs).
// Each is described as the Prometheus target its pod would be: namespace, pod name, the pod
// template's labels and prometheus.io annotations from the manifests, the process's address.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parse, parseAllDocuments } from 'yaml';
import { ServerProcess, freePort, openBaoBinary, startPostgres, waitFor, type PostgresServer } from '@rotor/testbed';
import { REPO } from './monitoring.ts';
import { vaultOk } from './vault-http.ts';

export interface ScrapeTarget {
  address: string;
  namespace: string;
  pod: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

interface PodTemplate {
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** The pod template of a workload in a deploy/ manifest file. */
export function podTemplate(file: string, kind: string, name: string): PodTemplate {
  type Workload = { kind: string; metadata: { name: string; namespace: string }; spec: { template: { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } } } };
  const docs = parseAllDocuments(readFileSync(join(REPO, 'deploy', file), 'utf8')).map((d) => d.toJS() as Workload | null);
  const w = docs.find((d) => d?.kind === kind && d.metadata.name === name);
  if (!w) throw new Error(`${kind} ${name} not in deploy/${file}`);
  return { namespace: w.metadata.namespace, labels: w.spec.template.metadata.labels ?? {}, annotations: w.spec.template.metadata.annotations ?? {} };
}

/** A target as Kubernetes service discovery describes a pod: the port annotation is the process's port. */
export function target(template: PodTemplate, pod: string, host: string, port: number): ScrapeTarget {
  return {
    address: `${host}:${port}`,
    namespace: template.namespace,
    pod,
    labels: template.labels,
    annotations: { ...template.annotations, 'prometheus.io/port': String(port) },
  };
}

/** The `__meta_kubernetes_*` labels the pod role of kubernetes_sd_configs sets, for a static_configs entry. */
export function discoveredLabels(t: ScrapeTarget): Record<string, string> {
  const name = (key: string): string => key.replace(/[^a-zA-Z0-9_]/g, '_');
  const labels: Record<string, string> = {
    __meta_kubernetes_namespace: t.namespace,
    __meta_kubernetes_pod_name: t.pod,
  };
  for (const [k, v] of Object.entries(t.labels)) labels[`__meta_kubernetes_pod_label_${name(k)}`] = v;
  for (const [k, v] of Object.entries(t.annotations)) {
    if (k.startsWith('prometheus.io/')) labels[`__meta_kubernetes_pod_annotation_${name(k)}`] = v;
  }
  return labels;
}

export interface Process {
  name: string;
  url: string;
  server: ServerProcess;
}

export interface AgentFile {
  username: string;
  password: string;
  lease_id: string;
  lease_duration: number;
  renewable: boolean;
  issued_at: number;
}

const TSX = ['--import', 'tsx', '--conditions=rotor-source'];

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('VAULT_') && !key.startsWith('BAO_')) env[key] = value;
  return { ...env, ...extra };
}

async function answers(url: string, status?: number): Promise<true | undefined> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await res.body?.cancel();
  return (status === undefined ? res.status > 0 : res.status === status) ? true : undefined;
}

/** server.hcl of deploy/vault/server.yaml for one node on loopback. */
export function renderServerHcl(node: { id: string; host: string; apiPort: number; clusterPort: number; dataDir: string }): string {
  type ConfigMap = { kind: string; metadata: { name: string }; data: Record<string, string> };
  const docs = parseAllDocuments(readFileSync(join(REPO, 'deploy/vault/server.yaml'), 'utf8')).map((d) => d.toJS() as ConfigMap | null);
  const hcl = docs.find((d) => d?.kind === 'ConfigMap' && d.metadata.name === 'vault-config')?.data['server.hcl'];
  if (hcl === undefined) throw new Error('deploy/vault/server.yaml has no vault-config server.hcl');
  const rendered = hcl
    .replace('"https://HOSTNAME.vault-internal.vault.svc:8200"', `"http://${node.host}:${node.apiPort}"`)
    .replace('"https://HOSTNAME.vault-internal.vault.svc:8201"', `"https://${node.host}:${node.clusterPort}"`)
    .replace('address = "[::]:8200"', `address = "${node.host}:${node.apiPort}"`)
    .replace('cluster_address = "[::]:8201"', `cluster_address = "${node.host}:${node.clusterPort}"`)
    .replace('path = "/openbao/data"', `path = "${node.dataDir}"`)
    .replace('node_id = "HOSTNAME"', `node_id = "${node.id}"`)
    // The listener's certificate is the cluster's (vault-tls): plain HTTP on loopback.
    .replace(/^(\s*)tls_cert_file = "\/openbao\/tls\/tls\.crt"\n\s*tls_key_file = "\/openbao\/tls\/tls\.key"$/m, '$1tls_disable = true')
    // Kubernetes service registration labels this pod through the API: there is no pod here.
    .replace('service_registration "kubernetes" {}', '');
  if (/HOSTNAME|\/openbao\/|\[::\]|service_registration/.test(rendered)) throw new Error(`server.hcl changed shape; cannot render it for loopback:\n${rendered}`);
  return rendered;
}

export class MonitoringStack {
  readonly dir = mkdtempSync(join(tmpdir(), 'rotor-monitoring-'));
  readonly targets: ScrapeTarget[] = [];
  readonly processes: Process[] = [];
  db: PostgresServer | undefined;
  vaultNodes: { id: string; address: string }[] = [];
  rootToken = '';
  receiver: Process | undefined;

  #start(name: string, command: string, args: string[], env: Record<string, string> = {}): ServerProcess {
    const server = new ServerProcess({ name, command, args, logFile: join(this.dir, `${name}.log`), cwd: REPO, env: cleanEnv(env) });
    this.processes.push({ name, url: '', server });
    return server;
  }

  async startDatabase(): Promise<void> {
    this.db = await startPostgres();
    const client = new pg.Client({ connectionString: this.db.url() });
    await client.connect();
    try {
      await client.query('CREATE TABLE users (id serial NOT NULL UNIQUE, title varchar(255) NOT NULL, name varchar(255))');
      await client.query(`INSERT INTO users (title, name) VALUES ('sre', 'sakib'), ('manager', 'hanifa')`);
    } finally {
      await client.end();
    }
  }

  /** Three OpenBao nodes (vault-0..2) from the shipped server.hcl, uninitialized, for the unsealer. */
  async startVault(): Promise<void> {
    for (let i = 0; i < 3; i++) this.vaultNodes.push({ id: `vault-${i}`, address: await this.startVaultNode(`vault-${i}`, `127.0.0.${i + 2}`) });
  }

  /**
   * One OpenBao node from the shipped server.hcl, a scrape target unless `edit` changed the
   * configuration (then it is only a probe). Nothing unseals a node the unsealer is not given.
   */
  async startVaultNode(id: string, host: string, edit?: (hcl: string) => string): Promise<string> {
    const [apiPort, clusterPort] = [await freePort(host), await freePort(host)];
    const home = join(this.dir, id);
    mkdirSync(join(home, 'data'), { recursive: true });
    const hcl = renderServerHcl({ id, host, apiPort, clusterPort, dataDir: join(home, 'data') });
    writeFileSync(join(home, 'server.hcl'), edit ? edit(hcl) : hcl);
    const server = this.#start(id, openBaoBinary(), ['server', `-config=${join(home, 'server.hcl')}`, '-log-level=info'], { HOME: home });
    const address = `http://${host}:${apiPort}`;
    await waitFor(`${id} to listen`, () => answers(`${address}/v1/sys/seal-status`, 200), { timeoutMs: 60_000, signal: server.exitSignal }).catch((err: unknown) => {
      throw server.failure('did not listen', err);
    });
    if (!edit) {
      const template = podTemplate('vault/server.yaml', 'StatefulSet', 'vault');
      this.targets.push(target({ ...template, annotations: { ...template.annotations, 'prometheus.io/scheme': 'http' } }, id, host, apiPort));
    }
    return address;
  }

  /** `rotor unseal` as the unsealer Deployment runs it (static discovery instead of pods, a file key store). */
  async startUnsealer(pod: string, keyStore: string, extra: string[] = []): Promise<Process> {
    const port = await freePort('127.0.0.1');
    const args = [
      join(REPO, 'packages/cli/bin/rotor.js'),
      'unseal',
      `--nodes=${this.vaultNodes.map((n) => n.address).join(',')}`,
      `--key-store=file:${join(this.dir, keyStore)}`,
      '--shares=5',
      '--threshold=3',
      '--root-token=keep',
      `--health-port=${port}`,
      '--resync=1000',
      ...extra,
    ];
    const server = this.#start(pod, process.execPath, args);
    const url = `http://127.0.0.1:${port}`;
    await waitFor(`${pod} to serve /healthz`, () => answers(`${url}/healthz`), { timeoutMs: 90_000, signal: server.exitSignal }).catch((err: unknown) => {
      throw server.failure('did not serve /healthz', err);
    });
    this.targets.push(target(podTemplate('unsealer/unsealer.yaml', 'Deployment', 'vault-unsealer'), pod, '127.0.0.1', port));
    const p = { name: pod, url, server };
    this.processes.splice(this.processes.findIndex((x) => x.server === server), 1, p);
    return p;
  }

  async waitUnsealed(): Promise<void> {
    await waitFor(
      'every OpenBao node unsealed, one active',
      async () => {
        const codes = await Promise.all(this.vaultNodes.map(async (n) => (await fetch(`${n.address}/v1/sys/health`, { signal: AbortSignal.timeout(2_000) })).status));
        return codes.every((c) => c === 200 || c === 429) && codes.filter((c) => c === 200).length === 1 ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
  }

  async activeAddress(): Promise<string> {
    return waitFor(
      'the active node',
      async () => {
        for (const n of this.vaultNodes) if ((await fetch(`${n.address}/v1/sys/health`, { signal: AbortSignal.timeout(2_000) })).status === 200) return n.address;
        return undefined;
      },
      { timeoutMs: 60_000 },
    );
  }

  /** The database engine with the shipped reader and writer roles (deploy/vault/config.yaml's statements). */
  async configureDatabase(): Promise<void> {
    const db = this.db;
    if (!db) throw new Error('startDatabase first');
    const config = parse(readFileSync(join(REPO, 'deploy/vault/config.yaml'), 'utf8')) as {
      secrets: { type: string; path?: string; roles?: { name: string; creation_statements: string[]; revocation_statements?: string[] }[] }[];
    };
    const roles = config.secrets.find((s) => s.type === 'database')?.roles ?? [];
    const address = await this.activeAddress();
    await vaultOk(address, this.rootToken, 'POST', 'sys/mounts/database', { type: 'database' });
    await vaultOk(address, this.rootToken, 'POST', 'database/config/postgres', {
      plugin_name: 'postgresql-database-plugin',
      connection_url: `postgresql://{{username}}:{{password}}@${db.host}:${db.port}/postgres?sslmode=disable`,
      username: db.superuser,
      password: db.superuserPassword,
      allowed_roles: roles.map((r) => r.name),
    });
    for (const role of roles) {
      await vaultOk(address, this.rootToken, 'POST', `database/roles/${role.name}`, {
        db_name: 'postgres',
        creation_statements: role.creation_statements,
        revocation_statements: role.revocation_statements ?? [],
        default_ttl: '1h',
        max_ttl: '24h',
      });
    }
  }

  /** New credentials of a role, as the agent template renders them (packages/db-credentials/templates). */
  async issue(role: string): Promise<AgentFile> {
    const answer = await vaultOk<{ lease_id: string; lease_duration: number; renewable: boolean; data: { username: string; password: string } }>(
      await this.activeAddress(),
      this.rootToken,
      'GET',
      `database/creds/${role}`,
    );
    return {
      username: answer.data.username,
      password: answer.data.password,
      lease_id: answer.lease_id,
      lease_duration: answer.lease_duration,
      renewable: answer.renewable,
      issued_at: Math.floor(Date.now() / 1000),
    };
  }

  /** users-api (main.ts) with the env of its Deployment's container, pointed at local files and servers. */
  async startUsersApi(workload: { file: string; name: string }, pod: string, env: Record<string, string>): Promise<Process> {
    const db = this.db;
    if (!db) throw new Error('startDatabase first');
    const port = await freePort('127.0.0.1');
    const server = this.#start(pod, process.execPath, [...TSX, join(REPO, 'services/users-api/src/main.ts')], {
      HOST: '127.0.0.1',
      PORT: String(port),
      DB_HOST: db.host,
      DB_PORT: String(db.port),
      DB_NAME: 'postgres',
      SHUTDOWN_DELAY_MS: '0',
      LOG_LEVEL: 'info',
      ...env,
    });
    const url = `http://127.0.0.1:${port}`;
    await waitFor(`${pod} to be ready`, () => answers(`${url}/readyz`, 200), { timeoutMs: 90_000, signal: server.exitSignal }).catch((err: unknown) => {
      throw server.failure('did not become ready', err);
    });
    this.targets.push(target(podTemplate(workload.file, 'Deployment', workload.name), pod, '127.0.0.1', port));
    const p = { name: pod, url, server };
    this.processes.splice(this.processes.findIndex((x) => x.server === server), 1, p);
    return p;
  }

  async startReceiver(): Promise<Process> {
    const port = await freePort('127.0.0.1');
    const server = this.#start('alert-receiver', process.execPath, [join(REPO, 'deploy/monitoring/alert-receiver.mjs')], { PORT: String(port) });
    const url = `http://127.0.0.1:${port}`;
    await waitFor('the alert receiver', () => answers(`${url}/healthz`, 200), { timeoutMs: 30_000, signal: server.exitSignal });
    this.receiver = { name: 'alert-receiver', url, server };
    return this.receiver;
  }

  log(name: string): string {
    try {
      return readFileSync(join(this.dir, `${name}.log`), 'utf8');
    } catch {
      return '';
    }
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.processes.map((p) => p.server.stop(15_000)));
    await this.db?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
