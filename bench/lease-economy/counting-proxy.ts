// A forwarding proxy in front of OpenBao that counts requests by operation, so a bench sees what
// Vault saw, whoever the client is (VaultLeaseSource, a bao agent, the bao CLI).
import { createServer, request, type Server } from 'node:http';
import { once } from 'node:events';
import { freePort } from '@rotor/testbed';

export type Operation = 'login' | 'issue' | 'renew' | 'revoke' | 'token-renew' | 'token-revoke' | 'token-lookup' | 'health' | 'other';

export function operationOf(path: string): Operation {
  if (path.includes('/auth/approle/login')) return 'login';
  if (path.includes('/database/creds/')) return 'issue';
  if (path.includes('/sys/leases/renew')) return 'renew';
  if (path.includes('/sys/leases/revoke')) return 'revoke';
  if (path.includes('/auth/token/renew-self')) return 'token-renew';
  if (path.includes('/auth/token/revoke-self')) return 'token-revoke';
  if (path.includes('/auth/token/lookup-self')) return 'token-lookup';
  // The agent checks Vault's health as it starts.
  if (path.includes('/sys/health')) return 'health';
  return 'other';
}

export interface CountingProxy {
  address: string;
  counts: Map<Operation, number>;
  /** The same counts per Vault token (one per login: per replica), keyed by the token's position, never the token. */
  byClient: Map<string, Map<Operation, number>>;
  close(): Promise<void>;
}

export async function startCountingProxy(target: URL): Promise<CountingProxy> {
  const counts = new Map<Operation, number>();
  const byClient = new Map<string, Map<Operation, number>>();
  const clientIds = new Map<string, string>();
  const server: Server = createServer((req, res) => {
    const op = operationOf(req.url ?? '/');
    counts.set(op, (counts.get(op) ?? 0) + 1);
    const token = req.headers['x-vault-token'];
    if (typeof token === 'string' && token !== '') {
      let id = clientIds.get(token);
      if (id === undefined) clientIds.set(token, (id = `client-${clientIds.size}`));
      const mine = byClient.get(id) ?? new Map<Operation, number>();
      mine.set(op, (mine.get(op) ?? 0) + 1);
      byClient.set(id, mine);
    }
    const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  const port = await freePort();
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return {
    address: `http://127.0.0.1:${port}`,
    counts,
    byClient,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
