// Persona DB Admin: a PostgreSQL server set up by the cluster's DB-admin Job's own SQL
// (deploy/postgres/db-admin.sql: the seed's users table and rows, and vault_admin, the
// role Vault connects as), plus an observer login the demo keeps for its own checks
// (vault_admin's password is about to be rotated by Vault, so nobody outside Vault knows it).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { postgresBinDir, startPostgres, type PostgresServer } from '@rotor/testbed';
import type { DemoContext } from './context.ts';
import { seconds } from './narrator.ts';

/** The DB-admin Job's SQL (deploy/postgres/db-admin.yaml runs it with psql in the cluster). */
const DB_ADMIN_SQL = fileURLToPath(new URL('../../deploy/postgres/db-admin.sql', import.meta.url));

/** The role Vault's database engine connects as (deploy/vault/config.yaml). */
export const VAULT_ADMIN = 'vault_admin';

export interface Database {
  server: PostgresServer;
  /** vault_admin's first password, handed to Vault once; rotate-root replaces it. */
  vaultAdminPassword: string;
  /** Runs a query as the observer (LOGIN, pg_read_all_stats; no table privileges). */
  observe<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
}

export const OBSERVER = 'demo_observer';

export async function dbAdmin(ctx: DemoContext): Promise<Database> {
  const { narrator, teardown, secrets } = ctx;
  narrator.step(1, 'DB Admin', 'PostgreSQL with the seed\'s users table');
  const started = performance.now();
  const server = await startPostgres();
  teardown.add('PostgreSQL', () => server.stop());
  secrets.add('postgres superuser password', server.superuserPassword);
  narrator.info(`PostgreSQL listening on ${server.host}:${server.port} (scram-sha-256, superuser "${server.superuser}") in ${seconds(performance.now() - started)}`);

  // What the DB-admin Job runs in the cluster, as it runs it: psql with the superuser's password and
  // vault_admin's first one in the environment.
  const vaultAdminPassword = randomBytes(18).toString('base64url');
  secrets.add('vault_admin first password', vaultAdminPassword);
  await promisify(execFile)(join(postgresBinDir(), 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', server.host, '-p', String(server.port), '-U', server.superuser, '-d', server.database, '-f', DB_ADMIN_SQL], {
    env: { ...process.env, PGPASSWORD: server.superuserPassword, VAULT_ADMIN_PASSWORD: vaultAdminPassword },
    timeout: 60_000,
  }).catch((err: unknown) => {
    // psql quotes a failing statement, and the CREATE ROLE carries the password: never pass that on.
    const { stderr, code } = err as { stderr?: string; code?: unknown };
    throw new Error(`deploy/postgres/db-admin.sql failed (psql exit ${String(code)}): ${(stderr ?? '').replaceAll(vaultAdminPassword, '<redacted>').trim()}`);
  });

  const observerPassword = randomBytes(18).toString('base64url');
  secrets.add('observer password', observerPassword);
  const admin = new pg.Client({ connectionString: server.url(), connectionTimeoutMillis: 5_000 });
  await admin.connect();
  try {
    await admin.query(`CREATE ROLE ${OBSERVER} WITH LOGIN PASSWORD '${observerPassword}' IN ROLE pg_read_all_stats`);
  } finally {
    await admin.end();
  }

  const observerUrl = server.url(OBSERVER, observerPassword);
  const observe = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> => {
    const client = new pg.Client({ connectionString: observerUrl, connectionTimeoutMillis: 5_000, application_name: 'rotor-demo' });
    await client.connect();
    try {
      return (await client.query<R>(sql, params)).rows;
    } finally {
      await client.end();
    }
  };

  const rows = await queryAs(server, server.superuser, server.superuserPassword, 'SELECT id, title, name FROM users ORDER BY id');
  narrator.info('$ psql -f deploy/postgres/db-admin.sql   (the DB-admin Job\'s SQL)');
  narrator.info('CREATE TABLE users (id serial, title varchar(255) not null, name varchar(255))');
  for (const r of rows) narrator.info(`  ${String(r.id)} | ${String(r.title).padEnd(7)} | ${String(r.name)}`);
  narrator.check(rows.length === 2 && rows[0]?.name === 'sakib' && rows[1]?.name === 'hanifa', 'users table holds the seed\'s two rows');
  const [role] = await queryAs(server, server.superuser, server.superuserPassword, `SELECT rolcreaterole, rolsuper FROM pg_roles WHERE rolname = '${VAULT_ADMIN}'`);
  narrator.check(role?.rolcreaterole === true && role.rolsuper === false, `role "${VAULT_ADMIN}" for Vault: LOGIN CREATEROLE, not a superuser`);
  narrator.info(`login "${OBSERVER}" created for the demo's own checks (pg_read_all_stats, no table privileges)`);
  return { server, vaultAdminPassword, observe };
}

/** One query as `user` with the given password (vault_admin's first one fails once Vault rotated it). */
export async function queryAs(server: PostgresServer, user: string, password: string, sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: server.url(user, password), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return (await client.query(sql)).rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
}
