// A real PostgreSQL with the seed's users table and a real OpenBao whose
// database engine issues a SELECT-only reader and a writer role, as the seed's
// Vault admin and DB admin would set them up.
import pg from 'pg';
import { startOpenBao, startPostgres, vaultAdmin, type OpenBaoDevServer, type PostgresServer } from '@rotor/testbed';
import { VaultClient } from '@rotor/vault-client';

export const READER_ROLE = 'db-reader-role';
export const WRITER_ROLE = 'db-writer-role';

const READER_SQL = `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';
GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";`;
const WRITER_SQL = `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';
GRANT SELECT, INSERT, UPDATE ON users TO "{{name}}";
GRANT USAGE ON SEQUENCE users_id_seq TO "{{name}}";`;

export interface Stack {
  db: PostgresServer;
  bao: OpenBaoDevServer;
  vault: VaultClient;
  /** Runs SQL as the superuser (test set-up and checks, never the service). */
  admin<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  /** Writes a database role; TTLs in seconds. */
  writeRole(name: string, sql: 'reader' | 'writer', ttl: { default: number; max: number }): Promise<void>;
  stop(): Promise<void>;
}

export async function startStack(): Promise<Stack> {
  const [db, bao] = await Promise.all([startPostgres(), startOpenBao({ mode: 'dev' })]);
  const adminPool = new pg.Pool({ connectionString: db.url(), max: 2 });
  // Idle admin connections die when PostgreSQL stops at teardown; that is expected.
  adminPool.on('error', () => undefined);
  const stop = async (): Promise<void> => {
    await adminPool.end().catch(() => undefined);
    await Promise.all([db.stop(), bao.stop()]);
  };
  try {
    const admin = async <R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]> => (await adminPool.query<R>(text, values)).rows;
    await admin(`CREATE TABLE users (id serial NOT NULL UNIQUE, title varchar(255) NOT NULL, name varchar(255))`);
    await admin(`INSERT INTO users (id, title, name) VALUES (1, 'sre', 'sakib'), (2, 'manager', 'hanifa')`);
    await admin(`SELECT setval('users_id_seq', 2)`);
    const vault = new VaultClient({ address: bao.address, token: bao.rootToken });
    await vaultAdmin.enableMount(vault, 'database', { type: 'database' });
    await vaultAdmin.writeConfig(vault, 'postgres', {
      pluginName: 'postgresql-database-plugin',
      allowedRoles: ['*'],
      connectionUrl: db.vaultConnectionUrl(),
      username: db.superuser,
      password: db.superuserPassword,
    });
    const writeRole: Stack['writeRole'] = (name, sql, ttl) =>
      vaultAdmin.writeRole(vault, name, {
        dbName: 'postgres',
        creationStatements: [sql === 'reader' ? READER_SQL : WRITER_SQL],
        defaultTtl: ttl.default,
        maxTtl: ttl.max,
      });
    await writeRole(READER_ROLE, 'reader', { default: 3600, max: 7200 });
    await writeRole(WRITER_ROLE, 'writer', { default: 3600, max: 7200 });
    return { db, bao, vault, admin, writeRole, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
