// The documented Alertmanager receiver: a webhook that writes each alert of each notification
// as one JSON line to its log (`kubectl -n monitoring logs deploy/alert-receiver`). It sends
// nothing anywhere. Replace it with your paging bridge (docs/operations.md, "Alerts").
// Plain Node, no dependencies: it runs from Rotor's image, mounted from a ConfigMap.
import { createServer } from 'node:http';

const LIMIT = 1024 * 1024;
const port = Number(process.env.PORT ?? 8080);

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') return void res.writeHead(200).end('ok\n');
  if (req.method !== 'POST') return void res.writeHead(405).end();
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size <= LIMIT) chunks.push(chunk);
  });
  req.on('end', () => {
    if (size > LIMIT) return void res.writeHead(413).end();
    try {
      const notification = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const alert of notification.alerts ?? []) {
        console.log(JSON.stringify({
          receiver: notification.receiver,
          status: alert.status,
          alertname: alert.labels?.alertname,
          severity: alert.labels?.severity,
          labels: alert.labels,
          summary: alert.annotations?.summary,
          startsAt: alert.startsAt,
        }));
      }
      res.writeHead(200).end();
    } catch {
      console.log(JSON.stringify({ error: 'not an Alertmanager notification' }));
      res.writeHead(400).end();
    }
  });
});
server.listen(port, () => console.log(JSON.stringify({ msg: 'alert receiver listening', port })));
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => server.close(() => process.exit(0)));
