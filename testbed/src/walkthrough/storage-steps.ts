// What lives on volumes in the cluster walkthrough, looked at as the DB admin and the Vault admin
// would: PostgreSQL (its StatefulSet pod, its roles, a login with a password, the TLS of its
// backends, Vault's connection to it) and Vault's raft snapshots (the CronJob's files, Vault's
// audit lines of who took them). Each helper returns what it saw; the cluster test decides pass
// or fail.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../wait.ts';
import { pods, type Kubectl } from './observe.ts';

export const POSTGRES_POD = 'postgres-0';
export const POSTGRES_SELECTOR = 'app.kubernetes.io/name=postgres';

/** psql in the PostgreSQL pod over its socket as the OS user postgres (peer): the DB admin's way in. */
export async function psqlAsDbAdmin(kubectl: Kubectl, sql: string): Promise<string[]> {
  const out = await kubectl.run(['-n', 'db', 'exec', POSTGRES_POD, '-c', 'postgres', '--', 'psql', '-U', 'postgres', '-d', 'postgres', '-At', '-c', sql]);
  return out.trim().split('\n').filter((l) => l !== '');
}

/**
 * A password login over TCP (scram), from inside the PostgreSQL pod: the password goes through
 * stdin, never into an argument list or a log. Resolves whatever the outcome.
 */
export async function passwordLogin(kubectl: Kubectl, user: string, password: string, sql: string): Promise<{ ok: boolean; rows: string[]; error: string }> {
  const script = 'IFS= read -r PGPASSWORD; export PGPASSWORD; exec psql -h 127.0.0.1 -U "$1" -d postgres -At -v ON_ERROR_STOP=1 -c "$2"';
  const r = await kubectl.result(['-n', 'db', 'exec', '-i', POSTGRES_POD, '-c', 'postgres', '--', 'sh', '-c', script, 'login', user, sql], { input: `${password}\n` });
  return { ok: r.code === 0, rows: r.stdout.trim().split('\n').filter((l) => l !== ''), error: r.stderr.trim() };
}

export interface PostgresBackend {
  user: string;
  /** The client's address (a pod IP), or "local" for the socket. */
  address: string;
  /** pg_stat_ssl: the connection is TLS, and which version. */
  ssl: boolean;
  version: string;
}

/** PostgreSQL's backends of Vault's connection user (vault_admin) and of the users Vault made (v-*), with their TLS state. */
export async function vaultBackends(kubectl: Kubectl): Promise<PostgresBackend[]> {
  const rows = await psqlAsDbAdmin(
    kubectl,
    "SELECT a.usename, coalesce(host(a.client_addr), 'local'), s.ssl, coalesce(s.version, '') FROM pg_stat_activity a JOIN pg_stat_ssl s ON s.pid = a.pid WHERE a.usename = 'vault_admin' OR a.usename LIKE 'v-%' ORDER BY 1, 2",
  );
  return rows.map((row) => {
    const [user = '', address = '', ssl = '', version = ''] = row.split('|');
    return { user, address, ssl: ssl === 't', version };
  });
}

/** A Vault token from a kubernetes login as `serviceAccount` (a TokenRequest token), with bao in `vaultPod` (tokens through stdin only). */
export async function kubernetesLogin(kubectl: Kubectl, input: { vaultPod: string; namespace: string; serviceAccount: string; authRole: string }): Promise<{ jwt: string; vaultToken: string }> {
  const jwt = (await kubectl.run(['-n', input.namespace, 'create', 'token', input.serviceAccount, '--duration=10m'])).trim();
  const login = JSON.parse(
    await kubectl.run(['-n', 'vault', 'exec', '-i', input.vaultPod, '-c', 'server', '--', 'bao', 'write', '-format=json', 'auth/kubernetes/login', `role=${input.authRole}`, 'jwt=-'], { input: jwt }),
  ) as { auth: { client_token: string } };
  return { jwt, vaultToken: login.auth.client_token };
}

/**
 * Vault's database engine connecting to PostgreSQL with `connectionUrl` as vault_admin, no
 * password given: a connection `name` written with verify_connection (Vault dials PostgreSQL
 * before it stores anything), then deleted, as the configure job's identity (role rotor-configure,
 * whose policy may write database/config/*), whose token is revoked at the end. Resolves Vault's
 * answer (bao's stderr) and the token and JWT used, for the secret scan.
 */
export async function vaultConnectionAttempt(
  kubectl: Kubectl,
  input: { vaultPod: string; name: string; connectionUrl: string },
): Promise<{ ok: boolean; error: string; jwt: string; vaultToken: string }> {
  const { jwt, vaultToken } = await kubernetesLogin(kubectl, { vaultPod: input.vaultPod, namespace: 'vault', serviceAccount: 'vault-configure', authRole: 'rotor-configure' });
  const script = [
    'IFS= read -r BAO_TOKEN; export BAO_TOKEN',
    'rc=0',
    'bao write "database/config/$1" plugin_name=postgresql-database-plugin connection_url="$2" username=vault_admin verify_connection=true || rc=$?',
    'bao delete "database/config/$1" > /dev/null',
    'bao token revoke -self > /dev/null',
    'exit "$rc"',
  ].join('\n');
  const r = await kubectl.result(['-n', 'vault', 'exec', '-i', input.vaultPod, '-c', 'server', '--', 'sh', '-c', script, 'attempt', input.name, input.connectionUrl], {
    input: `${vaultToken}
`,
    timeoutMs: 120_000,
  });
  return { ok: r.code === 0, error: r.stderr.trim(), jwt, vaultToken };
}

export interface IssuedCredentials {
  username: string;
  password: string;
  leaseId: string;
  /** The service account token and the Vault token used, for the secret scan. */
  jwt: string;
  vaultToken: string;
}

/**
 * New database credentials as a service gets them: a TokenRequest token of `serviceAccount`,
 * Vault's kubernetes login with `authRole`, then a read of `database/creds/<dbRole>`, with the
 * bao CLI inside the active Vault pod (tokens through stdin only).
 */
export async function issueCredentials(
  kubectl: Kubectl,
  input: { vaultPod: string; namespace: string; serviceAccount: string; authRole: string; dbRole: string },
): Promise<IssuedCredentials> {
  const { jwt, vaultToken } = await kubernetesLogin(kubectl, input);
  const script = 'IFS= read -r BAO_TOKEN; export BAO_TOKEN; exec bao read -format=json "database/creds/$1"';
  const creds = JSON.parse(
    await kubectl.run(['-n', 'vault', 'exec', '-i', input.vaultPod, '-c', 'server', '--', 'sh', '-c', script, 'creds', input.dbRole], { input: `${vaultToken}\n` }),
  ) as { lease_id: string; data: { username: string; password: string } };
  return { username: creds.data.username, password: creds.data.password, leaseId: creds.lease_id, jwt, vaultToken };
}

/** Deletes the PostgreSQL pod and waits for its replacement (another uid) to be Ready; resolves the time it took. */
export async function reschedulePostgres(kubectl: Kubectl, timeoutMs: number): Promise<{ elapsedMs: number; oldUid: string; newUid: string }> {
  const [old] = await pods(kubectl, 'db', POSTGRES_SELECTOR);
  if (old === undefined) throw new Error(`no pod matches ${POSTGRES_SELECTOR} in db`);
  const started = performance.now();
  await kubectl.run(['-n', 'db', 'delete', 'pod', old.name, '--wait=false']);
  const replacement = await waitFor(
    `a new ${POSTGRES_POD} Ready`,
    async () => (await pods(kubectl, 'db', POSTGRES_SELECTOR)).find((p) => p.uid !== old.uid && p.ready && !p.deleting),
    { timeoutMs, intervalMs: 1_000 },
  );
  return { elapsedMs: performance.now() - started, oldUid: old.uid, newUid: replacement.uid };
}

/** The raft snapshots on the snapshot volume (the CronJob's naming), with their sizes. */
export function snapshotFiles(dir: string): { name: string; bytes: number }[] {
  return readdirSync(dir)
    .filter((name) => /^raft-\d{8}T\d{6}Z\.snap$/.test(name))
    .map((name) => ({ name, bytes: statSync(join(dir, name)).size }));
}

export interface AuditEntry {
  type: string;
  auth?: { display_name?: string; policies?: string[]; metadata?: Record<string, string> };
  request?: { path?: string; operation?: string };
}

/** The audit lines (the file device on stdout) of a Vault pod for requests to `path`. */
export async function auditEntries(kubectl: Kubectl, pod: string, path: string): Promise<AuditEntry[]> {
  const text = await kubectl.run(['-n', 'vault', 'logs', pod, '-c', 'server', '--tail=-1'], { timeoutMs: 60_000 });
  const entries: AuditEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{') || !line.includes(path)) continue;
    try {
      const entry = JSON.parse(line) as AuditEntry;
      if (entry.request?.path === path) entries.push(entry);
    } catch {
      // Not an audit line (a server log line that happens to start with a brace).
    }
  }
  return entries;
}
