// A service of your own on rotating credentials: plain node:http and the kit.
// CREDENTIALS_MODE and its variables choose where credentials come from (docs/users-api.md).
import { createServer } from 'node:http';
import { credentialsConfigFromEnv, startDatabase } from '@rotor/db-credentials/service-kit';

const { config, problems } = credentialsConfigFromEnv(process.env);
if (problems.length > 0) throw new Error(`invalid configuration: ${problems.join('; ')}`);
const db = await startDatabase({ credentials: config, pg: { host: process.env.DB_HOST, port: Number(process.env.DB_PORT ?? 5432), database: process.env.DB_NAME ?? 'postgres', max: 4 } });

const server = createServer(async (req, res) => {
  const readiness = req.url === '/readyz' ? await db.readiness.check() : undefined;
  if (readiness) return void res.writeHead(readiness.ready ? 200 : 503).end();
  try {
    const { rows } = await db.pool.query('SELECT current_user AS login, count(*)::int AS users FROM users');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(rows[0]));
  } catch {
    res.writeHead(503).end();
  }
});
server.listen(Number(process.env.PORT ?? 8080), () => console.log(`listening on ${server.address().port}`));
process.once('SIGTERM', () => server.close(() => void db.stop().then(() => process.exit(0))));
