// Issue 7, "The agent injector": the users-api pod (from `kustomize build` of
// deploy/base and deploy/overlays/sidecar) goes through the
// injector's mutation (base: init container only; sidecar overlay: init container
// and sidecar), and the agent configuration it carries is run by the real
// `bao agent` against a real OpenBao (configured by `rotor configure apply` from
// deploy/vault/config.yaml), a real kube-apiserver (kubernetes auth with a
// TokenRequest token of app-auth) and a real PostgreSQL; users-api then serves
// with the credentials the agent rendered.
//
// Not real here: the injector itself. The Go module proxy refuses
// github.com/hashicorp/vault-k8s and github.com/openbao/openbao-k8s, so the
// mutation comes from testbed/src/injector.ts, a model of the injector's
// documented contract that rejects every annotation it does not implement. No
// kubelet either: what a kubelet provides (the mounted service-account token, the
// shared /vault/secrets and /home/vault volumes, the Service DNS name of Vault) is
// put in place by hand, and only that is rewritten in the agent configuration.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFile } from 'node:child_process';
import { parse, parseAllDocuments, stringify } from 'yaml';
import pg from 'pg';
import {
  AGENT_HOME,
  INIT_CONTAINER_NAME,
  SECRETS_MOUNT_PATH,
  SERVICE_ACCOUNT_MOUNT_PATH,
  SECRETS_VOLUME_NAME,
  SIDECAR_CONTAINER_NAME,
  TLS_SECRET_MOUNT_PATH,
  TLS_SECRET_VOLUME_NAME,
  SecretSet,
  ServerProcess,
  agentConfigOf,
  assertNoSecretsInLogs,
  readLog,
  freePort,
  injectorOptionsFromEnv,
  kustomizeBuild,
  mutatePod,
  createKubernetesAuthObjects,
  createTestCa,
  serviceAccountToken,
  startKubeApiserver,
  startOpenBao,
  startPostgres,
  waitFor,
  type AgentConfig,
  type Container,
  type InjectorOptions,
  type KubeApiserver,
  type OpenBaoDevServer,
  type Pod,
  type PostgresServer,
  type TestCa,
} from '../src/index.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const SEED_ROWS = [
  { id: 1, title: 'sre', name: 'sakib' },
  { id: 2, title: 'manager', name: 'hanifa' },
];

type Manifest = { kind: string; metadata: { name: string; namespace?: string }; [key: string]: unknown };
interface Deployment extends Manifest {
  spec: { template: { metadata: Pod['metadata']; spec: Pod['spec'] } };
}

const builds = new Map<string, Promise<Manifest[]>>();
/** `kustomize build deploy/DIR` (the real kustomize of the testbed), parsed; once per directory. */
function built(dir: 'base' | 'overlays/sidecar'): Promise<Manifest[]> {
  let result = builds.get(dir);
  if (result === undefined) {
    result = kustomizeBuild(join(repo, 'deploy', dir)).then((yaml) =>
      parseAllDocuments(yaml)
        .map((doc) => doc.toJS() as Manifest | null)
        .filter((doc): doc is Manifest => doc !== null),
    );
    builds.set(dir, result);
  }
  return result;
}

function find<T extends Manifest>(manifests: Manifest[], kind: string, name: string): T {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  assert.ok(found, `the kustomize build has ${kind} ${name}`);
  return found as T;
}

/** The users-api Deployment of deploy/base (init-container mode) or of the sidecar overlay. */
async function usersApiDeployment(dir: 'base' | 'overlays/sidecar' = 'base'): Promise<Deployment> {
  return find<Deployment>(await built(dir), 'Deployment', 'users-api');
}

/** The injector's settings, from the AGENT_INJECT_* env of its Deployment in deploy/base. */
async function injectorOptions(): Promise<InjectorOptions> {
  const injector = find<Manifest & { spec: { template: { spec: { containers: Container[] } } } }>(await built('base'), 'Deployment', 'vault-agent-injector');
  return injectorOptionsFromEnv(injector.spec.template.spec.containers[0]?.env ?? []);
}

/** The pod as the injector sees it: after the API server's ServiceAccount admission mounted the token. */
function podOf(deployment: Deployment): Pod {
  const { metadata, spec } = structuredClone(deployment.spec.template);
  const tokenVolume = { name: 'kube-api-access-x', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3607 } }] } };
  spec.volumes = [...(spec.volumes ?? []), tokenVolume];
  for (const c of spec.containers) c.volumeMounts = [...(c.volumeMounts ?? []), { name: tokenVolume.name, mountPath: SERVICE_ACCOUNT_MOUNT_PATH, readOnly: true }];
  return { apiVersion: 'v1', kind: 'Pod', metadata: { ...metadata, name: 'users-api-0', namespace: deployment.metadata.namespace ?? 'app' }, spec };
}

function container(list: Container[] | undefined, name: string): Container {
  const found = list?.find((c) => c.name === name);
  assert.ok(found, `container ${name} (have: ${(list ?? []).map((c) => c.name).join(', ')})`);
  return found;
}

function envOf(c: Container, name: string): string | undefined {
  return c.env?.find((e) => e.name === name)?.value;
}

/** The credential template shipped with @rotor/db-credentials, without its leading comment. */
function credentialTemplate(): string {
  const text = readFileSync(join(repo, 'packages/db-credentials/templates/db-creds.json.ctmpl'), 'utf8');
  return text.replace(/^\{\{-\s*\/\*[\s\S]*?\*\/\s*-\}\}\s*/, '').trim();
}

function assertAgentConfig(config: AgentConfig, options: InjectorOptions, init: boolean): void {
  assert.equal(config.exit_after_auth, init);
  assert.equal(config.vault.address, options.vaultAddress);
  // Vault serves TLS: the agent trusts the CA of the vault-ca Secret the injector mounts.
  assert.ok(options.vaultAddress.startsWith('https://'), options.vaultAddress);
  assert.equal(config.vault.ca_cert, `${TLS_SECRET_MOUNT_PATH}/ca.crt`);
  assert.equal(config.auto_auth.method.type, 'kubernetes');
  assert.equal(config.auto_auth.method.mount_path, 'auth/kubernetes');
  assert.deepEqual(config.auto_auth.method.config, { role: 'app-creds-reader-role', token_path: `${SERVICE_ACCOUNT_MOUNT_PATH}/token` });
  assert.equal(config.template.length, 1);
  const [template] = config.template;
  assert.equal(template?.destination, `${SECRETS_MOUNT_PATH}/db-creds.json`);
  assert.equal(template?.contents.trim(), credentialTemplate(), 'the annotation template is the one @rotor/db-credentials ships');
}

describe('Vault Agent injection of the users-api pod', () => {
  let options: InjectorOptions;
  before(async () => {
    options = await injectorOptions();
  });

  it('base (init-container mode): vault-agent-init, no sidecar, /vault/secrets shared, our template', async () => {
    const pod = mutatePod(podOf(await usersApiDeployment()), options);
    assert.equal(pod.metadata.annotations?.['vault.hashicorp.com/agent-inject-status'], 'injected');
    assert.deepEqual(pod.spec.initContainers?.map((c) => c.name), [INIT_CONTAINER_NAME]);
    assert.deepEqual(pod.spec.containers.map((c) => c.name), ['users-api']);
    const app = container(pod.spec.containers, 'users-api');
    assert.ok(app.volumeMounts?.some((m) => m.name === SECRETS_VOLUME_NAME && m.mountPath === SECRETS_MOUNT_PATH), 'users-api mounts /vault/secrets');
    assert.ok(pod.spec.volumes?.some((v) => v.name === SECRETS_VOLUME_NAME), 'the pod has the shared secrets volume');
    const init = container(pod.spec.initContainers, INIT_CONTAINER_NAME);
    assert.equal(init.image, options.image);
    assert.ok(init.volumeMounts?.some((m) => m.name === SECRETS_VOLUME_NAME && m.mountPath === SECRETS_MOUNT_PATH));
    assertAgentConfig(agentConfigOf(init), options, true);
    // The CA's Secret, in the agent container only.
    assert.ok(pod.spec.volumes?.some((v) => v.name === TLS_SECRET_VOLUME_NAME && JSON.stringify(v.secret) === JSON.stringify({ secretName: 'vault-ca' })));
    assert.ok(init.volumeMounts?.some((m) => m.name === TLS_SECRET_VOLUME_NAME && m.mountPath === TLS_SECRET_MOUNT_PATH && m.readOnly === true));
    assert.ok(!app.volumeMounts?.some((m) => m.name === TLS_SECRET_VOLUME_NAME), 'users-api does not mount the agent\'s TLS Secret');
    // users-api reads exactly the file the agent renders, and is told nothing will refresh it.
    assert.equal(envOf(app, 'CREDENTIALS_MODE'), 'file');
    assert.equal(envOf(app, 'CREDENTIALS_FILE'), agentConfigOf(init).template[0]?.destination);
    assert.equal(envOf(app, 'CREDENTIALS_REFRESH'), 'none');
    // The agent writes the file as the app's own user, so the app can read it.
    const podSecurity = pod.spec.securityContext as { runAsUser: number; runAsGroup: number };
    assert.deepEqual(
      { user: (init.securityContext as { runAsUser: number }).runAsUser, group: (init.securityContext as { runAsGroup: number }).runAsGroup },
      { user: podSecurity.runAsUser, group: podSecurity.runAsGroup },
    );
  });

  it('sidecar overlay: vault-agent-init and the vault-agent sidecar, CREDENTIALS_REFRESH=agent', async () => {
    const pod = mutatePod(podOf(await usersApiDeployment('overlays/sidecar')), options);
    assert.deepEqual(pod.spec.initContainers?.map((c) => c.name), [INIT_CONTAINER_NAME]);
    assert.deepEqual(pod.spec.containers.map((c) => c.name), ['users-api', SIDECAR_CONTAINER_NAME]);
    const app = container(pod.spec.containers, 'users-api');
    assert.ok(app.volumeMounts?.some((m) => m.name === SECRETS_VOLUME_NAME && m.mountPath === SECRETS_MOUNT_PATH));
    const sidecar = container(pod.spec.containers, SIDECAR_CONTAINER_NAME);
    assert.ok(sidecar.volumeMounts?.some((m) => m.name === SECRETS_VOLUME_NAME && m.mountPath === SECRETS_MOUNT_PATH));
    assertAgentConfig(agentConfigOf(container(pod.spec.initContainers, INIT_CONTAINER_NAME)), options, true);
    assertAgentConfig(agentConfigOf(sidecar), options, false);
    assert.equal(envOf(app, 'CREDENTIALS_REFRESH'), 'agent');
  });

  it('the model refuses an annotation it does not implement or that has a typo', async () => {
    const typo = podOf(await usersApiDeployment());
    typo.metadata.annotations = { ...typo.metadata.annotations, 'vault.hashicorp.com/agent-inject-secrets-db-creds.json': 'database/creds/db-reader-role' };
    assert.throws(() => mutatePod(typo, options), /not an injector annotation|does not implement/);
    const orphan = podOf(await usersApiDeployment());
    orphan.metadata.annotations = { ...orphan.metadata.annotations, 'vault.hashicorp.com/agent-inject-template-other.json': '{{ . }}' };
    assert.throws(() => mutatePod(orphan, options), /no matching agent-inject-secret-/);
  });
});

/** Runs `node packages/cli/bin/rotor.js ...`; resolves with its exit code and output. */
function rotor(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(repo, 'packages/cli/bin/rotor.js'), ...args], { cwd: repo, env, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The environment of a child process: ours without any Vault/OpenBao settings. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('VAULT_') && !key.startsWith('BAO_')) env[key] = value;
  }
  return { ...env, ...extra };
}

describe('the injected agent configuration, run by the real bao agent; users-api serves with what it rendered', { timeout: 420_000 }, () => {
  let options: InjectorOptions;
  let kube: KubeApiserver;
  let bao: OpenBaoDevServer;
  let db: PostgresServer;
  let dir: string;
  let vaultCa: TestCa;
  const processes: ServerProcess[] = [];
  /** Every secret of the run (JWTs, the agents' Vault tokens, DB passwords), for the log scans. */
  const secrets = new SecretSet();

  /** What a kubelet would mount: a projected service-account token of app-auth (default audience). */
  async function mountServiceAccountToken(podDir: string): Promise<string> {
    const path = join(podDir, 'token');
    const jwt = await serviceAccountToken(kube, 'app', 'app-auth');
    secrets.add('service-account JWT', jwt);
    writeFileSync(path, jwt, { mode: 0o600 });
    return path;
  }

  /** The Vault token the agent's auto-auth wrote to its sink (its kubernetes login token). */
  function agentToken(podDir: string): string {
    const token = readFileSync(join(podDir, 'home', '.vault-token'), 'utf8').trim();
    assert.ok(token.length > 0, 'the agent wrote its login token to the sink');
    secrets.add('vault token (agent kubernetes login)', token);
    return token;
  }

  /** The injector's agent config with only what a kubelet provides rewritten: Vault's address, the token, the volumes. */
  function localAgentConfig(config: AgentConfig, podDir: string, tokenPath: string): string {
    const secrets = join(podDir, 'secrets');
    const home = join(podDir, 'home');
    mkdirSync(secrets, { recursive: true });
    mkdirSync(home, { recursive: true });
    const local = structuredClone(config);
    local.vault.address = bao.address;
    local.auto_auth.method.config.token_path = tokenPath;
    const moved = (path: string, from: string, to: string): string => {
      assert.ok(path.startsWith(`${from}/`), `${path} is under ${from}`);
      return join(to, path.slice(from.length + 1));
    };
    local.pid_file = moved(local.pid_file, AGENT_HOME, home);
    for (const sink of local.auto_auth.sink) sink.config.path = moved(String(sink.config.path), AGENT_HOME, home);
    for (const template of local.template) template.destination = moved(template.destination, SECRETS_MOUNT_PATH, secrets);
    // The tls-secret volume (vault-ca's ca.crt). The dev server here speaks plain HTTP, so the agent
    // loads the CA but has no certificate to check; the cluster walkthrough runs it over TLS.
    if (local.vault.ca_cert !== undefined) {
      mkdirSync(join(podDir, 'tls'), { recursive: true });
      local.vault.ca_cert = moved(local.vault.ca_cert, TLS_SECRET_MOUNT_PATH, join(podDir, 'tls'));
      copyFileSync(vaultCa.certFile, local.vault.ca_cert);
    }
    const text = JSON.stringify(local);
    assert.ok(!text.includes(AGENT_HOME) && !text.includes(`${SECRETS_MOUNT_PATH}/`) && !text.includes(`${TLS_SECRET_MOUNT_PATH}/`), 'every pod path was mapped');
    const file = join(podDir, 'config.json');
    writeFileSync(file, text);
    return file;
  }

  function startAgent(name: string, configFile: string, podDir: string): ServerProcess {
    const agent = new ServerProcess({
      name,
      command: bao.binary,
      args: ['agent', `-config=${configFile}`],
      logFile: join(podDir, 'agent.log'),
      env: cleanEnv({ HOME: join(podDir, 'home') }),
    });
    processes.push(agent);
    return agent;
  }

  before(async () => {
    options = await injectorOptions();
    dir = mkdtempSync(join(tmpdir(), 'rotor-agent-injector-'));
    vaultCa = await createTestCa(dir, 'vault');
    [kube, bao, db] = await Promise.all([startKubeApiserver(), startOpenBao({ mode: 'dev' }), startPostgres()]);

    // The cluster objects a real install has: app-auth from the users-api manifest; Vault's reviewer.
    const appAuth = find(await built('base'), 'ServiceAccount', 'app-auth');
    const { reviewerJwt } = await createKubernetesAuthObjects(kube, { appServiceAccount: appAuth });
    secrets.add('reviewer JWT', reviewerJwt);
    secrets.add('root token', bao.rootToken);
    secrets.add('postgres superuser password', db.superuserPassword);

    // The seed's table, created by the database admin.
    const admin = new pg.Client({ connectionString: db.url(), connectionTimeoutMillis: 5_000 });
    await admin.connect();
    try {
      await admin.query('CREATE TABLE users (id serial NOT NULL UNIQUE, title varchar(255) NOT NULL, name varchar(255))');
      await admin.query(`INSERT INTO users(id, title, name) VALUES (1, 'sre', 'sakib'), (2, 'manager', 'hanifa')`);
      await admin.query(`SELECT setval('users_id_seq', 2)`);
    } finally {
      await admin.end();
    }

    // Vault configured by `rotor configure apply` from deploy/vault/config.yaml; only what differs
    // outside a cluster changes: where the API and the database are, and the reviewer credentials
    // that an in-cluster Vault takes from its own pod. rotate_root stays off so the testbed's
    // superuser remains usable by the test.
    const config = parse(readFileSync(join(repo, 'deploy/vault/config.yaml'), 'utf8')) as {
      auth: { type: string; config: Record<string, unknown> }[];
      policies: { file?: string }[];
      secrets: { type: string; connections?: Record<string, unknown>[] }[];
    };
    const kubernetes = config.auth.find((a) => a.type === 'kubernetes');
    assert.ok(kubernetes, 'config.yaml enables kubernetes auth');
    writeFileSync(join(dir, 'kube-ca.crt'), kube.caCert);
    kubernetes.config = {
      ...kubernetes.config,
      kubernetes_host: kube.url,
      kubernetes_ca_cert: { fromFile: 'kube-ca.crt' },
      token_reviewer_jwt: { fromEnv: 'REVIEWER_JWT' },
      disable_local_ca_jwt: true,
    };
    for (const policy of config.policies) if (policy.file !== undefined) policy.file = join(repo, 'deploy/vault', policy.file);
    for (const engine of config.secrets.filter((s) => s.type === 'database')) {
      for (const connection of engine.connections ?? []) {
        connection.connection_url = db.vaultConnectionUrl();
        connection.username = db.superuser;
        connection.rotate_root = false;
      }
    }
    const configFile = join(dir, 'vault-config.yaml');
    writeFileSync(configFile, stringify(config));
    const applied = await rotor(
      ['configure', 'apply', '--config', configFile],
      cleanEnv({ VAULT_ADDR: bao.address, VAULT_TOKEN: bao.rootToken, PG_ROOT_PASSWORD: db.superuserPassword, REVIEWER_JWT: reviewerJwt }),
    );
    assert.equal(applied.code, 0, `rotor configure apply failed:\n${applied.stderr.slice(-4000)}`);
  });

  after(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await Promise.all([kube?.stop(), bao?.stop(), db?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Set by the init-container test: the file the init agent rendered, as the pod would have it. */
  let rendered: { file: string; podDir: string; username: string; password: string } | undefined;

  it('init container: the agent logs in as app-auth, renders db-creds.json and exits 0; the credentials SELECT and cannot INSERT', async () => {
    const pod = mutatePod(podOf(await usersApiDeployment()), options);
    const podDir = join(dir, 'init');
    mkdirSync(podDir);
    const configFile = localAgentConfig(agentConfigOf(container(pod.spec.initContainers, INIT_CONTAINER_NAME)), podDir, await mountServiceAccountToken(podDir));

    const agent = startAgent('bao agent (vault-agent-init)', configFile, podDir);
    await waitFor('the init agent to exit', () => Promise.resolve(agent.running ? undefined : true), { timeoutMs: 60_000 });
    assert.equal(agent.describeExit(), 'code 0', `the init agent failed:\n${agent.logTail()}`);

    const file = join(podDir, 'secrets', 'db-creds.json');
    assert.ok(existsSync(file), 'the agent rendered db-creds.json');
    const creds = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    // The fields and types that @rotor/db-credentials' agent file format requires.
    assert.deepEqual(Object.keys(creds).sort(), ['issued_at', 'lease_duration', 'lease_id', 'password', 'renewable', 'username']);
    assert.equal(typeof creds.username, 'string');
    assert.equal(typeof creds.password, 'string');
    assert.match(String(creds.lease_id), /^database\/creds\/db-reader-role\//);
    assert.equal(creds.renewable, true);
    assert.ok(Number.isInteger(creds.lease_duration) && Number(creds.lease_duration) > 0, 'lease_duration is a positive integer');
    assert.ok(Number.isInteger(creds.issued_at), 'issued_at is unix seconds');
    rendered = { file, podDir, username: String(creds.username), password: String(creds.password) };
    secrets.add('db password', rendered.password);
    agentToken(podDir);

    const client = new pg.Client({ connectionString: db.url(rendered.username, rendered.password), connectionTimeoutMillis: 5_000 });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT id, title, name FROM users ORDER BY id');
      assert.deepEqual(rows, SEED_ROWS);
      await assert.rejects(client.query(`INSERT INTO users(title, name) VALUES ('intern', 'rotor')`), { code: '42501' });
    } finally {
      await client.end();
    }
    assertNoSecretsInLogs([readLog(agent.logFile, 'init agent log')], secrets);
  });

  /** Starts users-api with the given credential settings and checks it serves as the reader role allows. */
  async function usersApiServes(name: string, credentials: Record<string, string>): Promise<void> {
    assert.ok(rendered, 'the init-container test rendered the credentials');
    const port = await freePort('127.0.0.1');
    const usersApi = new ServerProcess({
      name,
      command: process.execPath,
      args: ['--import', 'tsx', '--conditions=rotor-source', 'services/users-api/src/main.ts'],
      cwd: repo,
      logFile: join(rendered.podDir, `${name}.log`),
      env: cleanEnv({ ...credentials, DB_HOST: db.host, DB_PORT: String(db.port), DB_NAME: db.database, HOST: '127.0.0.1', PORT: String(port), SHUTDOWN_DELAY_MS: '0' }),
    });
    processes.push(usersApi);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(
      `${name} to be ready`,
      async () => {
        const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2_000) });
        await res.body?.cancel();
        return res.ok ? true : undefined;
      },
      { timeoutMs: 60_000, signal: usersApi.exitSignal },
    ).catch((err: unknown) => {
      throw usersApi.failure('did not become ready', err);
    });

    const list = await fetch(`${base}/users`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(list.status, 200);
    assert.deepEqual(((await list.json()) as { items: unknown[] }).items, SEED_ROWS);

    const create = await fetch(`${base}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'intern', name: 'rotor' }),
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(create.status, 403, 'the reader credentials cannot INSERT');
    await create.body?.cancel();

    await usersApi.stop();
    assertNoSecretsInLogs([readLog(usersApi.logFile, `${name} log`)], secrets);
  }

  it('users-api given the rendered login (static mode) serves GET /users and answers POST with 403', async () => {
    // users-api is part of this tree: its absence is a failure, not a reason to skip.
    assert.ok(existsSync(join(repo, 'services/users-api/src/main.ts')), 'services/users-api/src/main.ts exists');
    assert.ok(rendered, 'the init-container test rendered the credentials');
    await usersApiServes('users-api-static', { CREDENTIALS_MODE: 'static', DB_USER: rendered.username, DB_PASSWORD: rendered.password });
  });

  it('users-api reading the rendered file (file mode) serves GET /users and answers POST with 403', async () => {
    assert.ok(rendered, 'the init-container test rendered the credentials');
    await usersApiServes('users-api-file', { CREDENTIALS_MODE: 'file', CREDENTIALS_FILE: rendered.file, CREDENTIALS_REFRESH: 'none' });
  });

  it('sidecar: the agent keeps running and renders db-creds.json with fresh credentials that log in', async () => {
    const pod = mutatePod(podOf(await usersApiDeployment('overlays/sidecar')), options);
    const podDir = join(dir, 'sidecar');
    mkdirSync(podDir);
    const configFile = localAgentConfig(agentConfigOf(container(pod.spec.containers, SIDECAR_CONTAINER_NAME)), podDir, await mountServiceAccountToken(podDir));
    const agent = startAgent('bao agent (vault-agent sidecar)', configFile, podDir);
    const credsFile = join(podDir, 'secrets', 'db-creds.json');
    const creds = await waitFor(
      'the sidecar agent to render db-creds.json',
      () => Promise.resolve(existsSync(credsFile) ? (JSON.parse(readFileSync(credsFile, 'utf8')) as { username: string; password: string }) : undefined),
      { timeoutMs: 60_000, signal: agent.exitSignal },
    ).catch((err: unknown) => {
      throw agent.failure('rendered nothing', err);
    });
    assert.ok(agent.running, 'a sidecar agent does not exit after rendering');
    secrets.add('db password', creds.password);
    agentToken(podDir);

    const client = new pg.Client({ connectionString: db.url(creds.username, creds.password), connectionTimeoutMillis: 5_000 });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT id, title, name FROM users ORDER BY id');
      assert.deepEqual(rows, SEED_ROWS);
    } finally {
      await client.end();
    }
    await agent.stop();
    assertNoSecretsInLogs([readLog(agent.logFile, 'sidecar agent log')], secrets);
  });
});
