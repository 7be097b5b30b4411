import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { postgresBinDir } from './binaries.ts';
import { issueServingCert, type TestCa } from './pki.ts';
import { freePort } from './ports.ts';
import { ServerProcess } from './process.ts';
import { waitFor } from './wait.ts';

export interface PostgresServer {
  host: string;
  port: number;
  database: string;
  /** The bootstrap superuser, as an operator would hand it to Vault once. */
  superuser: string;
  superuserPassword: string;
  /**
   * `postgresql://user:password@host:port/database` for the given login; with `tls`,
   * `?sslmode=verify-full&sslrootcert=<the CA file>`.
   */
  url(user?: string, password?: string): string;
  /**
   * A Vault connection_url template: credentials stay `{{username}}`/`{{password}}`;
   * `sslmode=verify-full` against the CA with `tls`, else `sslmode=disable`.
   */
  vaultConnectionUrl(): string;
  /** With `tls`: the server's certificate and key, to overwrite and `reload()`. */
  tls: { certFile: string; keyFile: string } | undefined;
  /** SIGHUP: PostgreSQL re-reads its configuration, certificates included. */
  reload(): void;
  /** The server's log, for scans. */
  logFile: string;
  /**
   * Stops the server and starts it again on the same port with the same data: a fast
   * shutdown (SIGINT: transactions rolled back, clients disconnected), or with `immediate`
   * PostgreSQL's immediate shutdown (SIGQUIT: every backend killed, crash recovery at start).
   */
  restart(options?: { immediate?: boolean; onStopped?: () => void }): Promise<void>;
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Start-up deadline. */
  timeoutMs?: number;
  /**
   * Serve TLS with a certificate for 127.0.0.1 and localhost signed by this CA, and refuse
   * every connection without it (hostssl only), so a client that does not use TLS fails.
   */
  tls?: TestCa;
}

/** The uid/gid to run postgres as: it refuses to run as root. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error('running as root but there is no "postgres" user to run PostgreSQL as');
  }
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * A throwaway PostgreSQL on a free loopback port, scram-sha-256 only, with a
 * random superuser password. `stop()` shuts it down fast and deletes its data.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'rotor-pg-'));
  const data = join(dir, 'data');
  const user = runAs();
  const superuser = 'postgres';
  const superuserPassword = randomBytes(18).toString('base64url');
  const host = '127.0.0.1';
  let server: ServerProcess | undefined;
  try {
    const pwfile = join(dir, 'pwfile');
    writeFileSync(pwfile, `${superuserPassword}\n`, { mode: 0o600 });
    if (user) {
      chownSync(dir, user.uid, user.gid);
      chownSync(pwfile, user.uid, user.gid);
    }
    execFileSync(
      join(bin, 'initdb'),
      ['-D', data, '-U', superuser, '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--locale=C', '--no-sync'],
      { stdio: 'pipe', ...user },
    );
    rmSync(pwfile);
    const tls = options.tls ? await issueServingCert(options.tls, dir, 'postgres-server', { ips: [host], dnsNames: ['localhost'] }) : undefined;
    if (tls) {
      // PostgreSQL refuses a key that others may read; only TLS connections over TCP.
      if (user) for (const file of [tls.certFile, tls.keyFile]) chownSync(file, user.uid, user.gid);
      chmodSync(tls.keyFile, 0o600);
      writeFileSync(
        join(data, 'pg_hba.conf'),
        ['local all all scram-sha-256', `hostssl all all ${host}/32 scram-sha-256`, `hostnossl all all ${host}/32 reject`, ''].join('\n'),
      );
    }
    const query = options.tls ? `?sslmode=verify-full&sslrootcert=${encodeURIComponent(options.tls.certFile)}` : '';
    const port = await freePort(host);
    const url = (u = superuser, p = superuserPassword): string =>
      `postgresql://${encodeURIComponent(u)}:${encodeURIComponent(p)}@${host}:${port}/postgres${query}`;
    const launch = async (): Promise<ServerProcess> => {
      const started = new ServerProcess({
        name: 'postgres',
        command: join(bin, 'postgres'),
        args: [
          '-D', data,
          '-c', `listen_addresses=${host}`,
          '-c', `port=${port}`,
          '-c', `unix_socket_directories=${dir}`,
          '-c', 'max_connections=300',
          '-c', 'fsync=off',
          '-c', 'synchronous_commit=off',
          '-c', 'full_page_writes=off',
          ...(tls ? ['-c', 'ssl=on', '-c', `ssl_cert_file=${tls.certFile}`, '-c', `ssl_key_file=${tls.keyFile}`] : []),
        ],
        logFile: join(dir, 'postgres.log'),
        ...user,
      });
      server = started;
      await waitFor(
        'postgres to accept connections',
        async () => {
          const client = new pg.Client({ connectionString: url(), connectionTimeoutMillis: 2_000 });
          try {
            await client.connect();
            await client.query('select 1');
            return true;
          } finally {
            await client.end().catch(() => undefined);
          }
        },
        { timeoutMs: options.timeoutMs ?? 30_000, signal: started.exitSignal },
      ).catch((err: unknown) => {
        throw started.failure('did not become ready', err);
      });
      return started;
    };
    let running = await launch();
    return {
      host,
      port,
      database: 'postgres',
      superuser,
      superuserPassword,
      url,
      vaultConnectionUrl: () =>
        `postgresql://{{username}}:{{password}}@${host}:${port}/postgres${options.tls ? `?sslmode=verify-full&sslrootcert=${options.tls.certFile}` : '?sslmode=disable'}`,
      logFile: join(dir, 'postgres.log'),
      tls,
      reload: () => running.kill('SIGHUP'),
      async restart({ immediate = false, onStopped }: { immediate?: boolean; onStopped?: () => void } = {}) {
        running.kill(immediate ? 'SIGQUIT' : 'SIGINT');
        await running.stop();
        onStopped?.();
        running = await launch();
      },
      async stop() {
        // SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients.
        running.kill('SIGINT');
        await running.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
