// The fastify + plain pg.Pool contender of bench/http: users-api's framework and query with
// no credential rotation (a fixed login), no metrics and no logging, so that users-api's
// ratio to it shows what Rotor's pool and instrumentation cost.
//   DATABASE_URL=postgresql://... PORT=0 POOL_MAX=10 node fastify-server.ts
import Fastify from 'fastify';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_MAX ?? 10) });
const app = Fastify({ logger: false });
const user = { type: 'object', properties: { id: { type: 'integer' }, title: { type: 'string' }, name: { type: ['string', 'null'] } }, required: ['id', 'title', 'name'] } as const;

app.get<{ Params: { id: number } }>(
  '/users/:id',
  { schema: { params: { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] }, response: { 200: user } } },
  async (request, reply) => {
    const { rows } = await pool.query('SELECT id, title, name FROM users WHERE id = $1', [request.params.id]);
    if (!rows[0]) return reply.code(404).send();
    return rows[0];
  },
);

const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write(`listening ${address}\n`);
process.once('SIGTERM', () => void app.close().then(() => pool.end()).then(() => process.exit(0)));
