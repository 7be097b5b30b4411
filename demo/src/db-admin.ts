// Persona DB Admin: a PostgreSQL server with the seed's users table and rows,
// plus an observer login the demo keeps for its own checks (the superuser's
// password is about to be rotated by Vault, so nobody outside Vault knows it).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startPostgres, type PostgresServer } from '@rotor/testbed';
import type { DemoContext } from './context.ts';
import { seconds } from './narrator.ts';

export interface Database {
  server: PostgresServer;
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

  const observerPassword = randomBytes(18).toString('base64url');
  secrets.add('observer password', observerPassword);
  const admin = new pg.Client({ connectionString: server.url(), connectionTimeoutMillis: 5_000 });
  await admin.connect();
  try {
    // The seed's "Useful Postgres Commands".
    await admin.query('CREATE TABLE users (id serial NOT NULL UNIQUE, title varchar(255) NOT NULL, name varchar(255))');
    await admin.query(`INSERT INTO users (id, title, name) VALUES (1, 'sre', 'sakib'), (2, 'manager', 'hanifa')`);
    // serial starts at 1 regardless of the explicit ids: move it past them.
    await admin.query(`SELECT setval('users_id_seq', (SELECT max(id) FROM users))`);
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

  const rows = await superuserQuery(server, server.superuserPassword, 'SELECT id, title, name FROM users ORDER BY id');
  narrator.info('CREATE TABLE users (id serial, title varchar(255) not null, name varchar(255))');
  for (const r of rows) narrator.info(`  ${String(r.id)} | ${String(r.title).padEnd(7)} | ${String(r.name)}`);
  narrator.check(rows.length === 2 && rows[0]?.name === 'sakib' && rows[1]?.name === 'hanifa', 'users table holds the seed\'s two rows');
  narrator.info(`login "${OBSERVER}" created for the demo's own checks (pg_read_all_stats, no table privileges)`);
  return { server, observe };
}

/** One query as the superuser with the given password (the original one fails once Vault rotated it). */
export async function superuserQuery(server: PostgresServer, password: string, sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: server.url(server.superuser, password), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return (await client.query(sql)).rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
}
