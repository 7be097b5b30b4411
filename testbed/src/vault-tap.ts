// An HTTP proxy in front of a real OpenBao, for a client that runs as its own
// process (users-api in vault mode): it forwards every request unchanged to
// the current target (like the `vault-active` Service in front of the raft
// leader), harvests the secrets in the answers (login tokens, database
// passwords, secret ids) so the test can scan logs for them, and can be cut
// (connections refused) to make Vault unreachable for that client alone.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { freePort } from './ports.ts';
import type { SecretSet } from './secret-scan.ts';

export interface VaultTapOptions {
  /** Where to forward: an OpenBao API address, asked at every request. */
  target: () => string | Promise<string>;
  /** Secrets found in answers are added here. */
  secrets: SecretSet;
  host?: string;
}

/** Fields of Vault answers that hold secrets, by path in the JSON body. */
const SECRET_FIELDS: readonly { kind: string; path: readonly string[] }[] = [
  { kind: 'vault token', path: ['auth', 'client_token'] },
  // sys/init's answer: the initial root token.
  { kind: 'vault token', path: ['root_token'] },
  { kind: 'vault token', path: ['wrap_info', 'token'] },
  { kind: 'db password', path: ['data', 'password'] },
  { kind: 'approle secret id', path: ['data', 'secret_id'] },
];

export class VaultTap {
  readonly #options: VaultTapOptions;
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  #port = 0;
  /** Requests forwarded and answered, for a test to see the client really used Vault. */
  forwarded = 0;

  constructor(options: VaultTapOptions) {
    this.#options = options;
  }

  get address(): string {
    return `http://${this.#options.host ?? '127.0.0.1'}:${this.#port}`;
  }

  get open(): boolean {
    return this.#server !== undefined;
  }

  async start(): Promise<void> {
    this.#port = await freePort(this.#options.host ?? '127.0.0.1');
    await this.restore();
  }

  /** Listens again on the same port. */
  async restore(): Promise<void> {
    if (this.#server) return;
    const server = createServer((req, res) => void this.#forward(req, res));
    server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, this.#options.host ?? '127.0.0.1', () => resolve());
    });
    this.#server = server;
  }

  /** Closes the listener and every connection: the client gets ECONNREFUSED until restore(). */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  stop(): Promise<void> {
    return this.cut();
  }

  async #forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const body = await readAll(req);
      const target = new URL(req.url ?? '/', await this.#options.target());
      const answer = await new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>((resolve, reject) => {
        const out = request(target, { method: req.method, headers: { ...req.headers, host: target.host }, timeout: 30_000 }, (upstream) => {
          readAll(upstream).then((b) => resolve({ status: upstream.statusCode ?? 502, headers: upstream.headers, body: b }), reject);
        });
        out.on('timeout', () => out.destroy(new Error('upstream timed out')));
        out.on('error', reject);
        out.end(body);
      });
      this.#harvest(answer.body);
      this.forwarded++;
      const headers = { ...answer.headers };
      delete headers['transfer-encoding'];
      headers['content-length'] = String(answer.body.length);
      res.writeHead(answer.status, headers).end(answer.body);
    } catch {
      // The upstream node is down: the client sees what it would see of a dead Service endpoint.
      res.socket?.destroy();
    }
  }

  #harvest(body: Buffer): void {
    let doc: unknown;
    try {
      doc = JSON.parse(body.toString('utf8'));
    } catch {
      return;
    }
    for (const field of SECRET_FIELDS) {
      const value = field.path.reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), doc);
      if (typeof value === 'string') this.#options.secrets.add(field.kind, value);
    }
  }
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}
