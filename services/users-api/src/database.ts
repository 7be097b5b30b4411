// What the repository needs from a database: one parameterized statement at a
// time. RotatingPool (db-credentials) and a plain pg.Pool both fit, so routes
// never know whether credentials rotate underneath.

import type { QueryResultRow } from 'pg';

export interface QueryResult<Row> {
  rows: Row[];
}

export interface Database {
  query<Row extends QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<Row>>;
}
