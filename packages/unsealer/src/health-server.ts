import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { UnsealerError, UnsealerErrorCode } from './errors.ts';

export interface HealthSource {
  /** Healthy while running and not stopped by an alarm. */
  health(): { healthy: boolean; state: string; detail?: string; paused?: boolean };
}

/** `/healthz` (liveness) and `/metrics` (Prometheus) on a small HTTP server. */
export class HealthServer {
  readonly #server: Server;
  #state: 'new' | 'listening' | 'closed' = 'new';

  constructor(source: HealthSource, registry: Registry) {
    this.#server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/healthz') {
        const h = source.health();
        res.writeHead(h.healthy ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(h));
      } else if (path === '/metrics') {
        registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
          () => res.writeHead(500).end(),
        );
      } else {
        res.writeHead(404).end();
      }
    });
  }

  /** Listens on host:port (port 0 picks a free one); returns the bound port. */
  async listen(port: number, host = '0.0.0.0'): Promise<number> {
    if (this.#state !== 'new') throw new UnsealerError(UnsealerErrorCode.ILLEGAL_STATE, `health server is ${this.#state}`);
    this.#state = 'listening';
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => resolve());
    });
    return (this.#server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    if (this.#state !== 'listening') throw new UnsealerError(UnsealerErrorCode.ILLEGAL_STATE, `health server is ${this.#state}`);
    this.#state = 'closed';
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
