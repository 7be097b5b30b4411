// The client's HTTP behaviour (retries, redirects, error mapping, headers)
// against a tiny local server that answers canned statuses. What real Vault
// answers is covered by the *.int.test.ts files.
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { waitFor } from '@rotor/testbed';
import { VaultClient, VaultErrorCode, isVaultError } from '../src/index.ts';
import type { RetryEvent, VaultClientOptions } from '../src/index.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}
type Answer = (res: ServerResponse, req: Seen) => void;

/** A local server answering each request with the next canned answer. */
class CannedServer {
  readonly seen: Seen[] = [];
  answers: Answer[] = [];
  readonly #server: Server;

  constructor() {
    this.#server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
        this.seen.push(seen);
        const answer = this.answers.shift() ?? json(500, { errors: ['no canned answer left'] });
        answer(res, seen);
      });
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
  }

  get address(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Answer {
  return (res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
}
const empty = (status: number): Answer => (res) => res.writeHead(status).end();
const sealed = json(503, { errors: ['Vault is sealed'] });
/** Never answers: the attempt times out. */
const hang: Answer = () => undefined;

describe('VaultClient over HTTP (local canned server)', () => {
  const server = new CannedServer();
  const other = new CannedServer();
  let retries: RetryEvent[] = [];
  const token = 'hvs.unit-test-token-must-not-leak';

  const client = (options: Partial<VaultClientOptions> = {}): VaultClient =>
    new VaultClient({
      address: server.address,
      token,
      timeoutMs: 2_000,
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 20 },
      random: () => 0.5,
      onRetry: (e) => retries.push(e),
      ...options,
    });

  before(async () => {
    await Promise.all([server.listen(), other.listen()]);
  });
  after(async () => {
    await Promise.all([server.close(), other.close()]);
  });
  beforeEach(() => {
    for (const s of [server, other]) {
      s.seen.length = 0;
      s.answers = [];
    }
    retries = [];
  });

  it('sends the token, X-Vault-Request and a JSON body; LIST becomes GET ?list=true', async () => {
    server.answers = [empty(204), json(200, { data: { keys: ['a', 'b'] } })];
    assert.equal(await client().request('PUT', 'sys/policies/acl/x', { body: { policy: 'p' } }), undefined);
    assert.deepEqual(await client().sys.listPolicies(), ['a', 'b']);
    const [put, list] = server.seen;
    assert.deepEqual([put?.method, put?.url, put?.body], ['PUT', '/v1/sys/policies/acl/x', '{"policy":"p"}']);
    assert.equal(put?.headers['x-vault-token'], token);
    assert.equal(put?.headers['x-vault-request'], 'true');
    assert.equal(put?.headers['content-type'], 'application/json');
    assert.deepEqual([list?.method, list?.url], ['GET', '/v1/sys/policies/acl?list=true']);
  });

  it('retries an idempotent GET after two 503s and succeeds once', async () => {
    server.answers = [sealed, sealed, json(200, { data: { policy: 'hcl' } })];
    assert.equal(await client().sys.readPolicy('x'), 'hcl');
    assert.equal(server.seen.length, 3);
    assert.deepEqual(
      retries.map((r) => [r.attempt, r.error.code]),
      [
        [1, VaultErrorCode.SEALED],
        [2, VaultErrorCode.SEALED],
      ],
    );
  });

  it('gives up after the configured attempts with the last error and the attempt count', async () => {
    server.answers = [sealed, sealed, sealed];
    await assert.rejects(client().sys.listMounts(), (err: unknown) => {
      assert.ok(isVaultError(err));
      assert.deepEqual([err.code, err.status, err.attempts, err.errors], [VaultErrorCode.SEALED, 503, 3, ['Vault is sealed']]);
      return true;
    });
    assert.equal(server.seen.length, 3);
  });

  it('does not retry a non-idempotent POST after a 500', async () => {
    server.answers = [json(500, { errors: ['internal error'] }), json(200, {})];
    await assert.rejects(client().request('POST', 'auth/approle/login', { body: {} }), (err: unknown) => {
      assert.ok(isVaultError(err));
      assert.deepEqual([err.code, err.status, err.attempts], [VaultErrorCode.HTTP, 500, 1]);
      return true;
    });
    assert.equal(server.seen.length, 1);
  });

  it('retries a non-idempotent POST after a 503, which Vault did not process', async () => {
    server.answers = [sealed, json(200, { ok: true })];
    assert.deepEqual(await client().request('POST', 'auth/approle/login', { body: {} }), { ok: true });
    assert.equal(server.seen.length, 2);
  });

  it('does not retry database creds after a timeout (a second user would be orphaned)', async () => {
    server.answers = [hang, json(200, {})];
    await assert.rejects(client({ timeoutMs: 300 }).database.creds('reader'), (err: unknown) => {
      assert.ok(isVaultError(err));
      assert.deepEqual([err.code, err.attempts, err.path], [VaultErrorCode.TIMEOUT, 1, 'database/creds/reader']);
      return true;
    });
    assert.equal(server.seen.length, 1);
  });

  it('retries an idempotent GET after a timeout', async () => {
    server.answers = [hang, json(200, { data: { policy: 'hcl' } })];
    assert.equal(await client({ timeoutMs: 300 }).sys.readPolicy('x'), 'hcl');
    assert.deepEqual(retries.map((r) => r.error.code), [VaultErrorCode.TIMEOUT]);
  });

  it('honours Retry-After on 429, capped at maxDelayMs', async () => {
    server.answers = [json(429, { errors: ['rate limit quota exceeded'] }, { 'retry-after': '3600' }), json(200, { data: { keys: [] } })];
    assert.deepEqual(await client().sys.listPolicies(), []);
    assert.deepEqual(retries.map((r) => [r.error.code, r.delayMs]), [[VaultErrorCode.RATE_LIMITED, 20]]);
  });

  it('retries a refused connection even for a non-idempotent call, then reports VAULT_NETWORK', async () => {
    const closed = new CannedServer();
    await closed.listen();
    const address = closed.address;
    await closed.close();
    await assert.rejects(client({ address }).request('POST', 'sys/init', { body: {} }), (err: unknown) => {
      assert.ok(isVaultError(err));
      assert.deepEqual([err.code, err.attempts], [VaultErrorCode.NETWORK, 3]);
      assert.match(err.message, /ECONNREFUSED/);
      return true;
    });
  });

  it('follows a 307 to another node with the same method, body and token', async () => {
    server.answers = [(res) => res.writeHead(307, { location: `${other.address}/v1/sys/policies/acl/x` }).end()];
    other.answers = [empty(204)];
    await client().request('PUT', 'sys/policies/acl/x', { body: { policy: 'path "a" {}' }, idempotent: true });
    const [hop] = other.seen;
    assert.deepEqual([hop?.method, hop?.url, hop?.body], ['PUT', '/v1/sys/policies/acl/x', '{"policy":"path \\"a\\" {}"}']);
    assert.equal(hop?.headers['x-vault-token'], token);
  });

  it('stops a redirect loop with VAULT_REDIRECT', async () => {
    const loop: Answer = (res, req) => res.writeHead(307, { location: req.url }).end();
    server.answers = Array.from({ length: 20 }, () => loop);
    await assert.rejects(client({ retry: { attempts: 1 } }).sys.listMounts(), (err: unknown) => isVaultError(err) && err.code === VaultErrorCode.REDIRECT);
  });

  it('maps 404 with no errors to undefined for reads, and to [] for lists', async () => {
    server.answers = [json(404, { errors: [] }), json(404, { errors: [] })];
    assert.equal(await client().sys.readPolicy('missing'), undefined);
    assert.deepEqual(await client().database.listRoles(), []);
  });

  it('reports a body that is not JSON, or of the wrong shape, as VAULT_INVALID_RESPONSE without its values', async () => {
    server.answers = [
      (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>proxy</html>'),
      json(200, { data: { username: 'u', password: 12345678 } , lease_id: 'l', lease_duration: 1, renewable: true }),
    ];
    await assert.rejects(client().sys.leader(), (err: unknown) => isVaultError(err) && err.code === VaultErrorCode.INVALID_RESPONSE);
    await assert.rejects(client().database.creds('r'), (err: unknown) => {
      assert.ok(isVaultError(err));
      assert.equal(err.code, VaultErrorCode.INVALID_RESPONSE);
      assert.match(err.message, /data\.password/);
      assert.ok(!err.message.includes('12345678'));
      return true;
    });
  });

  it('validates with a caller schema', async () => {
    server.answers = [json(200, { data: { value: 42 }, extra: 'tolerated' })];
    const answer = await client().request('GET', 'kv/x', { schema: z.object({ data: z.object({ value: z.number() }) }) });
    assert.equal(answer?.data.value, 42);
  });

  it('stops waiting when the caller aborts, without retrying', async () => {
    server.answers = [hang, json(200, {})];
    const controller = new AbortController();
    const pending = client().request('GET', 'sys/mounts', { signal: controller.signal });
    await waitFor('the request to arrive', () => Promise.resolve(server.seen.length > 0 ? true : undefined), { timeoutMs: 10_000, intervalMs: 5 });
    controller.abort();
    await assert.rejects(pending, (err: unknown) => isVaultError(err) && err.code === VaultErrorCode.ABORTED && err.attempts === 1);
    assert.equal(server.seen.length, 1);
  });

  it('never puts the token into an error', async () => {
    server.answers = [json(403, { errors: ['permission denied'] })];
    const err = await client().sys.listMounts().catch((e: unknown) => e);
    assert.ok(isVaultError(err));
    assert.ok(!JSON.stringify(err).includes(token) && !err.message.includes(token) && !String(err.stack).includes(token));
  });
});
