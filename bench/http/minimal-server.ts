// The Node floor for bench/http: node:http + pg doing exactly users-api's
// GET /users/:id query, with no framework, validation or metrics.
//   DATABASE_URL=postgresql://... PORT=0 POOL_MAX=10 node minimal-server.ts
import { createServer } from 'node:http';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_MAX ?? 10) });
const server = createServer((req, res) => {
  const id = Number(/^\/users\/(\d+)$/.exec(req.url ?? '')?.[1]);
  if (!id) {
    res.writeHead(404).end();
    return;
  }
  pool.query('SELECT id, title, name FROM users WHERE id = $1', [id]).then(
    ({ rows }) => {
      const body = rows[0] ? JSON.stringify(rows[0]) : '{}';
      res.writeHead(rows[0] ? 200 : 404, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
    },
    () => res.writeHead(503).end(),
  );
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : ''}\n`);
});
process.once('SIGTERM', () => server.close(() => void pool.end().then(() => process.exit(0))));
