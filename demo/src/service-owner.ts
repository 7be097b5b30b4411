// Persona Service Owner: a real `bao agent` (what the injector's init container
// or sidecar runs) logs in and renders the shipped credential template to a
// file; users-api runs in `file` mode on that file. No kubelet here: both run
// as local processes, with the same configuration a pod would give them.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, openBaoBinary, ServerProcess, waitFor } from '@rotor/testbed';
import { childEnv } from './commands.ts';
import type { AgentAuth } from './configure.ts';
import { REPO_ROOT, type DemoContext } from './context.ts';
import { seconds } from './narrator.ts';
import { readText } from './secrets.ts';

export const TEMPLATE = 'packages/db-credentials/templates/db-creds.json.ctmpl';

/** users-api's own entry point, exactly what the Deployment runs (compiled). */
export const USERS_API_ENTRY = 'services/users-api/src/main.ts';

export interface Agent {
  /** The file the agent renders (what /vault/secrets/db-creds.json is in a pod). */
  credentialsFile: string;
  logFile: string;
  /** Usernames the rendered file has held, in order (polled every 100 ms; passwords go to the secret scan). */
  readonly usernames: readonly string[];
  /** Username in the rendered file now. */
  current(): string | undefined;
}

export interface UsersApi {
  url: string;
  logFile: string;
  process: ServerProcess;
  /** Graceful stop (SIGTERM: not-ready, drain, end pools, revoke in vault mode). */
  stop(): Promise<void>;
}

/** The credentials file's username, if the file is complete JSON; the password is read and dropped. */
export function renderedUsername(path: string): { username: string; password: string } | undefined {
  try {
    const doc = JSON.parse(readFileSync(path, 'utf8')) as { username?: unknown; password?: unknown };
    return typeof doc.username === 'string' && typeof doc.password === 'string' ? { username: doc.username, password: doc.password } : undefined;
  } catch {
    return undefined;
  }
}

function hcl(value: string): string {
  return JSON.stringify(value);
}

function authStanza(auth: AgentAuth): string {
  if (auth.method === 'kubernetes') {
    return `  method "kubernetes" {
    mount_path = "auth/kubernetes"
    config = {
      role       = ${hcl(auth.role)}
      token_path = ${hcl(auth.tokenFile)}
    }
  }`;
  }
  return `  method "approle" {
    mount_path = "auth/approle"
    config = {
      role_id_file_path                   = ${hcl(auth.roleIdFile)}
      secret_id_file_path                 = ${hcl(auth.secretIdFile)}
      remove_secret_id_file_after_reading = false
    }
  }`;
}

export async function startAgent(ctx: DemoContext, vaultAddress: string, auth: AgentAuth): Promise<Agent> {
  const { narrator, teardown, dir, signal } = ctx;
  narrator.step(5, 'Service Owner', 'Vault Agent renders the credentials; users-api serves on them');
  const credentialsFile = join(dir, 'secrets', 'db-creds.json');
  // The injector's agents keep their login token in a file sink too (/home/vault/.vault-token).
  const tokenSink = join(dir, 'agent-home', '.vault-token');
  mkdirSync(join(dir, 'agent-home'), { mode: 0o700 });
  const configFile = join(dir, 'agent.hcl');
  const template = join(REPO_ROOT, TEMPLATE);
  writeFileSync(
    configFile,
    `# What the agent injector's sidecar would run for a pod annotated with the shipped template.
vault {
  address = ${hcl(vaultAddress)}
}
auto_auth {
${authStanza(auth)}
  sink "file" {
    config = {
      path = ${hcl(tokenSink)}
      mode = 0600
    }
  }
}
template_config {
  exit_on_retry_failure = true
}
template {
  source      = ${hcl(template)}
  destination = ${hcl(credentialsFile)}
  perms       = "0600"
}
`,
  );
  const logFile = join(dir, 'agent.log');
  const started = performance.now();
  const agent = new ServerProcess({
    name: 'bao agent',
    command: openBaoBinary(),
    args: ['agent', `-config=${configFile}`, '-log-level=info'],
    logFile,
    env: { ...childEnv(), HOME: dir },
    cwd: dir,
  });
  teardown.add('bao agent', () => agent.stop());
  narrator.info(`bao agent: auto_auth ${auth.method === 'kubernetes' ? `kubernetes (role ${auth.role}, token of app/app-auth)` : 'approle (fallback)'}, template ${TEMPLATE}`);
  const first = await waitFor('the agent to render the credentials file', () => Promise.resolve(renderedUsername(credentialsFile)), {
    timeoutMs: 60_000,
    intervalMs: 50,
    signal: AbortSignal.any([signal, agent.exitSignal]),
  }).catch((err: unknown) => {
    throw agent.failure('did not render the credentials file', err);
  });
  ctx.secrets.add('db password', first.password);
  // The agent's Vault login token goes into the scan as well (it renews and may replace it).
  const readToken = (): void => ctx.secrets.add(`vault token (agent ${auth.method} login)`, readText(tokenSink).trim() || undefined);
  readToken();
  narrator.check(true, `agent logged in and rendered ${credentialsFile}`, `in ${seconds(performance.now() - started)}: user ${first.username}`);
  const usernames = [first.username];
  const poll = (): void => {
    const now = renderedUsername(credentialsFile);
    if (!now) return;
    ctx.secrets.add('db password', now.password);
    readToken();
    if (usernames.at(-1) !== now.username) usernames.push(now.username);
  };
  const timer = setInterval(poll, 100);
  teardown.add('credentials file poll', () => clearInterval(timer));
  return {
    credentialsFile,
    logFile,
    usernames,
    current: () => {
      poll();
      return usernames.at(-1);
    },
  };
}

/** Starts users-api as a child process, configured by environment like its Deployment; waits for /readyz. */
export async function startUsersApi(ctx: DemoContext, name: string, env: Record<string, string>, dbPort: number): Promise<UsersApi> {
  const { teardown, dir, signal } = ctx;
  const port = await freePort('127.0.0.1');
  const logFile = join(dir, `${name}.log`);
  const child = new ServerProcess({
    name,
    command: process.execPath,
    args: ['--import', 'tsx', '--conditions=rotor-source', join(REPO_ROOT, USERS_API_ENTRY)],
    logFile,
    cwd: REPO_ROOT,
    env: childEnv({
      HOST: '127.0.0.1',
      PORT: String(port),
      DB_HOST: '127.0.0.1',
      DB_PORT: String(dbPort),
      DB_NAME: 'postgres',
      SHUTDOWN_DELAY_MS: '0',
      SHUTDOWN_DRAIN_TIMEOUT_MS: '5000',
      LOG_LEVEL: 'info',
      ...env,
    }),
  });
  const stop = (): Promise<void> => child.stop(15_000);
  teardown.add(name, stop);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    `${name} /readyz`,
    async () => {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
      await res.body?.cancel();
      return res.status === 200 ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100, signal: AbortSignal.any([signal, child.exitSignal]) },
  ).catch((err: unknown) => {
    throw child.failure('did not become ready', err);
  });
  return { url, logFile, process: child, stop };
}

/** The seed's demonstration: GET works, POST is refused (SELECT-only role); the start-up log names the user, not the password. */
export async function seedChecks(ctx: DemoContext, api: UsersApi, knownUsernames: readonly string[]): Promise<void> {
  const { narrator } = ctx;
  const get = await fetch(`${api.url}/users`);
  const page = (await get.json()) as { items?: { id: number; title: string; name: string }[] };
  const rows = page.items ?? [];
  narrator.check(
    get.status === 200 && rows.length === 2 && rows[0]?.name === 'sakib' && rows[1]?.name === 'hanifa',
    `GET /users → ${get.status}:`,
    rows.map((r) => `${r.id} ${r.title} ${r.name}`).join(', '),
  );
  const post = await fetch(`${api.url}/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'intern', name: 'mallory' }),
  });
  const refusal = (await post.json()) as { error?: string; message?: string };
  narrator.check(post.status === 403, `POST /users → ${post.status}:`, `"${refusal.message ?? refusal.error ?? '?'}"`);

  const log = readText(api.logFile);
  const startup = log.split('\n').find((l) => l.includes('database credentials obtained'));
  const shown = startup ? (JSON.parse(startup) as { username?: string }).username : undefined;
  narrator.check(
    shown !== undefined && knownUsernames.includes(shown) && ctx.secrets.foundIn(log).length === 0,
    'start-up log shows the username, never the password:',
    `"database credentials obtained" username=${shown ?? '?'}`,
  );
}
