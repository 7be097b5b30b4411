// A TCP relay between Vault and PostgreSQL (sslmode=disable, as in the
// testbed) that reads the SQL Vault sends and keeps every password literal in
// it: the dynamic roles' and, after rotate-root, the superuser's new one, which
// nothing else ever shows. Only so that a test can prove that password appears
// in no log; the bytes pass through unchanged.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { freePort } from '@rotor/testbed';

export class PasswordSniffer {
  /** Passwords seen in `ALTER ROLE "<name>" ... PASSWORD '...'`, by role name (rotate-root). */
  readonly altered = new Map<string, string>();
  /** Passwords seen in `CREATE ROLE` statements. */
  readonly created = new Set<string>();
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  port = 0;

  constructor(target: { host: string; port: number }) {
    this.#target = target;
  }

  async start(): Promise<{ host: string; port: number }> {
    this.port = await freePort('127.0.0.1');
    const server = createServer((inbound) => {
      const outbound = connect(this.#target);
      let seen = '';
      for (const s of [inbound, outbound]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.on('data', (chunk: Buffer) => {
        // Query and Parse messages carry the statement text in clear.
        seen = (seen + chunk.toString('latin1')).slice(-64 * 1024);
        this.#read(seen);
      });
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    return { host: '127.0.0.1', port: this.port };
  }

  #read(text: string): void {
    for (const m of text.matchAll(/ALTER ROLE "([^"]+)" WITH PASSWORD '([^']+)'/gi)) if (m[1] && m[2]) this.altered.set(m[1], m[2]);
    for (const m of text.matchAll(/CREATE ROLE "[^"]+" WITH LOGIN PASSWORD '([^']+)'/gi)) if (m[1]) this.created.add(m[1]);
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
