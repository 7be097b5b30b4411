// A throwaway MariaDB server from Debian's packages, unpacked (not installed) into the
// cache by testbed/mariadb/fetch.sh: a fresh data dir per run, a free loopback port,
// its own socket, a random superuser password; stop() removes it all.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { cacheDir } from './binaries.ts';
import { TestbedError } from './errors.ts';
import { freePort } from './ports.ts';
import { ServerProcess } from './process.ts';
import { waitFor } from './wait.ts';

export interface MariaDbServer {
  host: string;
  port: number;
  /** The superuser, `root`@`%` (and @localhost), as an operator would hand it to Vault once. */
  superuser: string;
  superuserPassword: string;
  /** mysql2 connection options for a login (the superuser by default), over TCP. */
  connection(user?: string, password?: string, database?: string): mysql.ConnectionOptions;
  /** A Vault mysql-database-plugin connection_url: credentials stay `{{username}}`/`{{password}}`. */
  vaultConnectionUrl(): string;
  /** The server's error log, for scans. */
  logFile: string;
  stop(): Promise<void>;
}

export interface StartMariaDbOptions {
  /** Start-up deadline. */
  timeoutMs?: number;
}

/** Where fetch.sh unpacked Debian's MariaDB (override the root with ROTOR_MARIADB_DIR). */
export function mariaDbRoot(): string {
  const root = process.env.ROTOR_MARIADB_DIR ?? join(cacheDir(), 'mariadb');
  if (!existsSync(join(root, 'usr', 'sbin', 'mariadbd'))) {
    throw new TestbedError('TESTBED_NO_BINARY', `MariaDB not found under ${root}: run "bash testbed/mariadb/fetch.sh" (scripts/setup.sh does)`);
  }
  return root;
}

export async function startMariaDb(options: StartMariaDbOptions = {}): Promise<MariaDbServer> {
  const root = mariaDbRoot();
  const usr = join(root, 'usr');
  // The libraries fetch.sh unpacked beside the server (liburing, libnuma, libaio).
  const env = { ...process.env, LD_LIBRARY_PATH: join(usr, 'lib', 'x86_64-linux-gnu') };
  const dir = mkdtempSync(join(tmpdir(), 'rotor-mariadb-'));
  const data = join(dir, 'data');
  const socket = join(dir, 'mariadb.sock');
  const logFile = join(dir, 'mariadb.log');
  const host = '127.0.0.1';
  const superuser = 'root';
  const superuserPassword = randomBytes(18).toString('base64url');
  // mariadbd refuses to run as root unless told to: the cache under root's 0700 home is out
  // of another user's reach, and the temp dir is root's own, so as root it runs as root.
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  let server: ServerProcess | undefined;
  try {
    await promisify(execFile)(
      join(usr, 'bin', 'mariadb-install-db'),
      ['--no-defaults', `--basedir=${usr}`, `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...asRoot],
      { env },
    ).catch((err: unknown) => {
      throw new TestbedError('TESTBED_START', `mariadb-install-db failed: ${(err as { stderr?: string }).stderr ?? String(err)}`);
    });
    const port = await freePort(host);
    server = new ServerProcess({
      name: 'mariadb',
      command: join(usr, 'sbin', 'mariadbd'),
      args: [
        '--no-defaults',
        `--basedir=${usr}`,
        `--datadir=${data}`,
        `--lc-messages-dir=${join(usr, 'share', 'mysql')}`,
        `--plugin-dir=${join(usr, 'lib', 'mysql', 'plugin')}`,
        ...asRoot,
        `--bind-address=${host}`,
        `--port=${port}`,
        `--socket=${socket}`,
        `--pid-file=${join(dir, 'mariadb.pid')}`,
        // Users are granted on '%': no DNS lookups of loopback clients.
        '--skip-name-resolve',
        '--skip-log-bin',
        // Throwaway data: no flush per commit, a small buffer pool.
        '--innodb-flush-log-at-trx-commit=0',
        '--innodb-buffer-pool-size=64M',
        '--max-connections=300',
      ],
      logFile,
      env,
    });
    const started = server;
    // Until secured, only the socket (in our 0700 temp dir) takes the password-less root.
    await waitFor(
      'mariadb to accept connections on its socket',
      async () => {
        const c = await mysql.createConnection({ socketPath: socket, user: 'root', connectTimeout: 2_000 });
        await c.end();
        return true;
      },
      { timeoutMs: options.timeoutMs ?? 60_000, signal: started.exitSignal },
    ).catch((err: unknown) => {
      throw started.failure('did not become ready', err);
    });
    await secure(socket, superuser, superuserPassword);
    const connection = (user = superuser, password = superuserPassword, database?: string): mysql.ConnectionOptions => ({
      host,
      port,
      user,
      password,
      ...(database === undefined ? {} : { database }),
    });
    return {
      host,
      port,
      superuser,
      superuserPassword,
      connection,
      vaultConnectionUrl: () => `{{username}}:{{password}}@tcp(${host}:${port})/`,
      logFile,
      async stop() {
        // SIGTERM is mariadbd's normal shutdown; ServerProcess escalates if it hangs.
        await started.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * The install leaves password-less root accounts (localhost, 127.0.0.1, ::1, the host
 * name): one superuser `root` with a password, on '%' for TCP and localhost for the socket.
 */
async function secure(socket: string, superuser: string, password: string): Promise<void> {
  const c = await mysql.createConnection({ socketPath: socket, user: 'root' });
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>(`SELECT User, Host FROM mysql.user WHERE User IN ('root', '') AND Host <> 'localhost'`);
    for (const row of rows) await c.query('DROP USER ?@?', [row.User, row.Host]);
    await c.query(`CREATE USER ?@'%' IDENTIFIED BY ?`, [superuser, password]);
    await c.query(`GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION`, [superuser]);
    await c.query(`ALTER USER 'root'@'localhost' IDENTIFIED BY ?`, [password]);
  } finally {
    await c.end();
  }
}
