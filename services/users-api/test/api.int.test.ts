// The seed's demonstration, hardened: with the SELECT-only role GET works and
// writes are refused (403, nothing written); with the writer role every route
// works; bad input always gets a 4xx JSON answer and changes nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { compileErrors, validate } from '@readme/openapi-parser';
import { StaticSource } from '@rotor/db-credentials/service-kit';
import { READER_ROLE, WRITER_ROLE, startStack, type Stack } from './stack.ts';
import { http, runService, testConfig, type Running } from './harness.ts';

interface Row {
  id: number;
  title: string;
  name: string | null;
}

interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, { operationId: string; parameters: Array<{ name?: string; in?: string; $ref?: string }>; requestBody?: unknown; responses: Record<string, unknown> }>>;
  components: { schemas: Record<string, unknown>; responses: Record<string, unknown>; headers: Record<string, unknown>; parameters: Record<string, unknown> };
}

/** node:http, because fetch refuses TRACE (a "forbidden method" in the Fetch standard). */
function rawRequest(base: string, method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method, headers, timeout: 15_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, json: text ? (JSON.parse(text) as unknown) : undefined }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

function assertErrorBody(answer: { status: number; json: unknown; headers: Headers; text: string }, status: number, error: string): void {
  assert.equal(answer.status, status, answer.text);
  assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
  const body = answer.json as { error?: unknown; message?: unknown };
  assert.equal(body.error, error, answer.text);
  assert.equal(typeof body.message, 'string');
  assert.deepEqual(Object.keys(body).sort(), ['error', 'message']);
}

describe('users-api over real PostgreSQL with OpenBao-issued credentials', { timeout: 180_000 }, () => {
  let stack: Stack;
  let reader: Running;
  let writer: Running;
  const passwords: string[] = [];

  before(async () => {
    stack = await startStack();
    const [readLease, writeLease] = await Promise.all([stack.vault.database.creds(READER_ROLE), stack.vault.database.creds(WRITER_ROLE)]);
    passwords.push(readLease.data.password, writeLease.data.password);
    reader = await runService(testConfig(stack.db), new StaticSource(readLease.data.username, readLease.data.password));
    writer = await runService(testConfig(stack.db), new StaticSource(writeLease.data.username, writeLease.data.password));
  });
  after(async () => {
    await Promise.allSettled([reader?.stop(), writer?.stop()]);
    await stack?.stop();
  });

  const rows = (): Promise<Row[]> => stack.admin<Row>('SELECT id, title, name FROM users ORDER BY id');

  describe('reader role (SELECT only)', () => {
    it('GET /users and GET /users/:id answer 200 with the seed rows', async () => {
      const list = await http(reader.url, 'GET', '/users');
      assert.equal(list.status, 200);
      assert.deepEqual(list.json, { items: [{ id: 1, title: 'sre', name: 'sakib' }, { id: 2, title: 'manager', name: 'hanifa' }], nextAfter: null });
      const one = await http(reader.url, 'GET', '/users/2');
      assert.deepEqual([one.status, one.json], [200, { id: 2, title: 'manager', name: 'hanifa' }]);
      assertErrorBody(await http(reader.url, 'GET', '/users/999'), 404, 'USERS_ERR_USER_NOT_FOUND');
    });

    it('POST and PUT answer 403 from the database role and write nothing', async () => {
      const before = await rows();
      const post = await http(reader.url, 'POST', '/users', { json: { title: 'intruder', name: 'x' } });
      assertErrorBody(post, 403, 'USERS_ERR_FORBIDDEN_BY_DATABASE_ROLE');
      assert.match((post.json as { message: string }).message, /database role/);
      assertErrorBody(await http(reader.url, 'PUT', '/users/1', { json: { title: 'intruder' } }), 403, 'USERS_ERR_FORBIDDEN_BY_DATABASE_ROLE');
      assert.deepEqual(await rows(), before);
    });
  });

  describe('writer role', () => {
    it('POST creates (201 + Location), GET reads it back, PUT replaces it', async () => {
      const created = await http(writer.url, 'POST', '/users', { json: { title: 'dba', name: 'rahim' } });
      assert.equal(created.status, 201, created.text);
      const user = created.json as Row;
      assert.deepEqual({ ...user, id: 0 }, { id: 0, title: 'dba', name: 'rahim' });
      assert.equal(created.headers.get('location'), `/users/${user.id}`);
      assert.deepEqual((await http(writer.url, 'GET', `/users/${user.id}`)).json, user);

      const replaced = await http(writer.url, 'PUT', `/users/${user.id}`, { json: { title: 'lead dba' } });
      assert.deepEqual([replaced.status, replaced.json], [200, { id: user.id, title: 'lead dba', name: null }]);
      assert.deepEqual((await stack.admin<Row>('SELECT id, title, name FROM users WHERE id = $1', [user.id]))[0], { id: user.id, title: 'lead dba', name: null });
      assertErrorBody(await http(writer.url, 'PUT', '/users/424242', { json: { title: 'ghost' } }), 404, 'USERS_ERR_USER_NOT_FOUND');
    });

    it('GET /users pages with a cursor and a bounded limit', async () => {
      const first = await http(writer.url, 'GET', '/users?limit=2');
      const page1 = first.json as { items: Row[]; nextAfter: number | null };
      assert.equal(first.status, 200);
      assert.deepEqual(page1.items.map((u) => u.id), [1, 2]);
      assert.equal(page1.nextAfter, 2);
      const page2 = (await http(writer.url, 'GET', `/users?limit=2&after=${page1.nextAfter}`)).json as { items: Row[]; nextAfter: number | null };
      const all = await rows();
      assert.deepEqual(page2.items, all.slice(2, 4));
      assertErrorBody(await http(writer.url, 'GET', '/users?limit=101'), 400, 'USERS_ERR_VALIDATION');
      assertErrorBody(await http(writer.url, 'GET', '/users?limit=0'), 400, 'USERS_ERR_VALIDATION');
    });
  });

  describe('bad input battery (writer role, so a slip would write)', () => {
    const huge = 'x'.repeat(64 * 1024);
    const longUnicode = '用户🙂'.repeat(100); // 300 characters: over varchar(255)
    const cases: Array<{ name: string; method: string; path: string; body?: string | Buffer; json?: unknown; headers?: Record<string, string>; status: number }> = [
      { name: 'malformed JSON', method: 'POST', path: '/users', body: '{"title": "a",', headers: { 'content-type': 'application/json' }, status: 400 },
      { name: 'empty JSON body', method: 'POST', path: '/users', body: '', headers: { 'content-type': 'application/json' }, status: 400 },
      { name: 'JSON array', method: 'POST', path: '/users', json: [{ title: 'a' }], status: 400 },
      { name: 'JSON null', method: 'POST', path: '/users', body: 'null', headers: { 'content-type': 'application/json' }, status: 400 },
      { name: 'text/plain body', method: 'POST', path: '/users', body: 'title=a', headers: { 'content-type': 'text/plain' }, status: 415 },
      { name: 'form body', method: 'POST', path: '/users', body: 'title=a', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415 },
      { name: 'no content type', method: 'POST', path: '/users', body: Buffer.from('{"title":"a"}'), headers: { 'content-type': '' }, status: 415 },
      { name: 'huge body', method: 'POST', path: '/users', json: { title: huge }, status: 413 },
      { name: 'title wrong type', method: 'POST', path: '/users', json: { title: 42 }, status: 400 },
      { name: 'title boolean', method: 'PUT', path: '/users/1', json: { title: true }, status: 400 },
      { name: 'name wrong type', method: 'POST', path: '/users', json: { title: 'a', name: ['x'] }, status: 400 },
      { name: 'missing title', method: 'POST', path: '/users', json: { name: 'x' }, status: 400 },
      { name: 'null title', method: 'POST', path: '/users', json: { title: null }, status: 400 },
      { name: 'empty title', method: 'POST', path: '/users', json: { title: '' }, status: 400 },
      { name: 'extra field', method: 'POST', path: '/users', json: { title: 'a', admin: true }, status: 400 },
      { name: 'id in body', method: 'PUT', path: '/users/1', json: { id: 2, title: 'a' }, status: 400 },
      { name: 'prototype pollution', method: 'POST', path: '/users', body: '{"title":"a","__proto__":{"admin":true}}', headers: { 'content-type': 'application/json' }, status: 400 },
      { name: 'long unicode title', method: 'POST', path: '/users', json: { title: longUnicode }, status: 400 },
      { name: 'NUL in name', method: 'POST', path: '/users', json: { title: 'a', name: 'nul\u0000byte' }, status: 400 },
      { name: 'negative id', method: 'GET', path: '/users/-1', status: 400 },
      { name: 'zero id', method: 'PUT', path: '/users/0', json: { title: 'a' }, status: 400 },
      { name: 'huge id', method: 'GET', path: '/users/99999999999999999999', status: 400 },
      { name: 'int4 overflow id', method: 'PUT', path: '/users/2147483648', json: { title: 'a' }, status: 400 },
      { name: 'fractional id', method: 'GET', path: '/users/1.5', status: 400 },
      { name: 'non-numeric id', method: 'GET', path: '/users/abc', status: 400 },
      { name: 'SQL in id', method: 'GET', path: `/users/${encodeURIComponent('1 OR 1=1')}`, status: 400 },
      { name: 'SQL in id (PUT)', method: 'PUT', path: `/users/${encodeURIComponent("1; DROP TABLE users; --")}`, json: { title: 'a' }, status: 400 },
      { name: 'unknown query parameter', method: 'GET', path: '/users?order=id;drop', status: 400 },
      { name: 'non-numeric cursor', method: 'GET', path: '/users?after=abc', status: 400 },
      { name: 'negative cursor', method: 'GET', path: '/users?after=-5', status: 400 },
      { name: 'unknown route', method: 'GET', path: '/users/1/delete', status: 404 },
      { name: 'unserved method on a known path', method: 'DELETE', path: '/users/1', status: 405 },
    ];

    it('every case is a 4xx JSON error with a stable code, and nothing changes', async () => {
      const before = await rows();
      for (const c of cases) {
        const answer = await http(writer.url, c.method, c.path, { ...(c.body !== undefined ? { body: c.body } : {}), ...(c.json !== undefined ? { json: c.json } : {}), ...(c.headers ? { headers: c.headers } : {}) });
        assert.equal(answer.status, c.status, `${c.name}: ${answer.status} ${answer.text}`);
        assert.match(answer.headers.get('content-type') ?? '', /^application\/json/, c.name);
        const body = answer.json as { error?: unknown; message?: unknown };
        assert.match(String(body.error), /^USERS_ERR_[A-Z_]+$/, c.name);
        assert.equal(typeof body.message, 'string', c.name);
        assert.doesNotMatch(answer.text, /\bat .*\.ts:\d+|SELECT|INSERT|UPDATE|DROP TABLE/, `${c.name} leaks internals: ${answer.text}`);
      }
      assert.deepEqual(await rows(), before);
    });

    it('SQL-looking and unicode strings within bounds are stored verbatim, as data', async () => {
      const title = "'); DROP TABLE users; --";
      const name = '🙂'.repeat(255);
      const created = await http(writer.url, 'POST', '/users', { json: { title, name } });
      assert.equal(created.status, 201, created.text);
      const id = (created.json as Row).id;
      assert.deepEqual(await stack.admin<Row>('SELECT id, title, name FROM users WHERE id = $1', [id]), [{ id, title, name }]);
    });
  });

  describe('a good HTTP citizen', () => {
    it('an unserved method on a known path is 405 with Allow; an unknown path stays 404', async () => {
      const cases: Array<[string, string, string]> = [
        ['TRACE', '/users', 'GET, HEAD, POST'],
        ['DELETE', '/users', 'GET, HEAD, POST'],
        ['PATCH', '/users', 'GET, HEAD, POST'],
        ['OPTIONS', '/users', 'GET, HEAD, POST'],
        ['TRACE', '/users/1', 'GET, HEAD, PUT'],
        ['DELETE', '/users/1', 'GET, HEAD, PUT'],
        ['POST', '/users/1', 'GET, HEAD, PUT'],
        ['DELETE', '/users/not-a-number', 'GET, HEAD, PUT'],
        ['POST', '/healthz', 'GET, HEAD'],
      ];
      for (const [method, path, allow] of cases) {
        const answer = await rawRequest(writer.url, method, path);
        assert.equal(answer.status, 405, `${method} ${path}`);
        assert.equal(answer.headers.allow, allow, `${method} ${path}`);
        assert.equal((answer.json as { error?: string }).error, 'USERS_ERR_METHOD_NOT_ALLOWED', `${method} ${path}`);
      }
      for (const [method, path] of [['TRACE', '/nothing'], ['GET', '/users/1/delete'], ['DELETE', '/users/']] as const) {
        const answer = await rawRequest(writer.url, method, path);
        assert.equal(answer.status, 404, `${method} ${path}`);
        assert.equal(answer.headers.allow, undefined, `${method} ${path}`);
      }
    });

    it('X-Request-Id is echoed when well-formed, made up when absent or malformed, on every kind of answer', async () => {
      const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
      for (const [method, path, status] of [['GET', '/users/1', 200], ['GET', '/users/999', 404], ['GET', '/users/abc', 400], ['TRACE', '/users', 405], ['GET', '/nowhere', 404]] as const) {
        const given = await rawRequest(reader.url, method, path, { 'x-request-id': 'req-42.alpha:7' });
        assert.deepEqual([given.status, given.headers['x-request-id']], [status, 'req-42.alpha:7'], `${method} ${path}`);
        const none = await rawRequest(reader.url, method, path);
        assert.match(String(none.headers['x-request-id']), uuid, `${method} ${path} without an id`);
      }
      for (const bad of ['has spaces', 'x'.repeat(129), 'quote"d', 'new\\nline', 'ünïcode']) {
        const answer = await http(reader.url, 'GET', '/users/1', { headers: { 'x-request-id': bad } }).catch(() => undefined);
        // fetch itself refuses some header values; those that get through must be replaced.
        if (answer) assert.match(answer.headers.get('x-request-id') ?? '', uuid, JSON.stringify(bad));
      }
      const distinct = new Set(await Promise.all([1, 2, 3].map(async () => (await http(reader.url, 'GET', '/healthz')).headers.get('x-request-id'))));
      assert.equal(distinct.size, 3, 'each request gets its own id');
    });

    it('every log line of a request carries its request id and, when valid, its traceparent', async () => {
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const answer = await http(reader.url, 'GET', '/users/2', { headers: { 'x-request-id': 'trace-me-1', traceparent } });
      assert.equal(answer.status, 200);
      const forged = await http(reader.url, 'GET', '/users/1', { headers: { 'x-request-id': 'trace-me-2', traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' } });
      assert.equal(forged.status, 200);
      const lines = (): Array<Record<string, unknown>> => reader.logs().split('\n').filter((l) => l.includes('"trace-me-')).map((l) => JSON.parse(l) as Record<string, unknown>);
      const first = lines().filter((l) => l.requestId === 'trace-me-1');
      assert.ok(first.length > 0, 'the request was logged under its id');
      for (const line of first) assert.equal(line.traceparent, traceparent);
      assert.ok(first.some((l) => l.msg === 'request completed' && l.status === 200 && l.route === '/users/:id'));
      const second = lines().filter((l) => l.requestId === 'trace-me-2');
      assert.ok(second.length > 0);
      for (const line of second) assert.equal(line.traceparent, undefined, 'an invalid traceparent is not logged');
    });
  });

  describe('operations endpoints', () => {
    it('/healthz and /readyz answer 200', async () => {
      assert.deepEqual((await http(reader.url, 'GET', '/healthz')).json, { status: 'alive' });
      assert.deepEqual((await http(reader.url, 'GET', '/readyz')).json, { status: 'ready' });
    });

    it('/metrics counts requests by route template and status, next to the pool metrics', async () => {
      await http(reader.url, 'GET', '/users/1');
      await http(reader.url, 'GET', '/users/31337');
      const text = (await http(reader.url, 'GET', '/metrics')).text;
      assert.match(text, /http_requests_total\{method="GET",route="\/users\/:id",status_code="200"\} \d+/);
      assert.match(text, /http_requests_total\{method="GET",route="\/users\/:id",status_code="404"\} \d+/);
      assert.match(text, /http_request_errors_total\{route="\/users",error="USERS_ERR_FORBIDDEN_BY_DATABASE_ROLE"\} \d+/);
      assert.match(text, /http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/users\/:id",status_code="200"\}/);
      assert.match(text, /rotor_db_pool_connections\{state="total"\} \d+/);
      assert.doesNotMatch(text, /route="\/users\/31337"/);
    });

    it('/openapi.json documents every route from its schemas, with operationIds and components', async () => {
      const doc = (await http(reader.url, 'GET', '/openapi.json')).json as OpenApi;
      assert.equal(doc.openapi, '3.1.0');
      assert.deepEqual(Object.keys(doc.paths).sort(), ['/healthz', '/metrics', '/openapi.json', '/readyz', '/users', '/users/{id}']);
      assert.deepEqual(Object.keys(doc.paths['/users'] ?? {}).sort(), ['get', 'post']);
      assert.deepEqual(Object.keys(doc.paths['/users/{id}'] ?? {}).sort(), ['get', 'put']);
      const operationIds = Object.values(doc.paths).flatMap((p) => Object.values(p).map((o) => o.operationId));
      assert.deepEqual(operationIds.sort(), ['createUser', 'getLiveness', 'getMetrics', 'getOpenApi', 'getReadiness', 'getUser', 'listUsers', 'replaceUser']);
      const put = doc.paths['/users/{id}']?.put;
      assert.deepEqual(put?.parameters.filter((p) => p.name !== undefined).map((p) => [p.name, p.in]), [['id', 'path']]);
      assert.deepEqual(put?.parameters.filter((p) => p.$ref !== undefined).map((p) => p.$ref), ['#/components/parameters/XRequestId', '#/components/parameters/Traceparent']);
      assert.deepEqual(put?.requestBody, { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/UserInput' } } } });
      assert.deepEqual(Object.keys(put?.responses ?? {}).sort(), ['200', '400', '403', '404', '413', '415', '500', '503']);
      assert.deepEqual(put?.responses['503'], { $ref: '#/components/responses/ServiceUnavailable' });
      assert.deepEqual(doc.paths['/users']?.get?.parameters.filter((p) => p.in === 'query').map((p) => p.name), ['limit', 'after']);
      // Documented headers: Location on 201, Retry-After on 503, X-Request-Id on every answer.
      const created = doc.paths['/users']?.post?.responses['201'] as { headers: Record<string, unknown>; content: Record<string, { schema: unknown }> };
      assert.deepEqual(created.headers, { 'X-Request-Id': { $ref: '#/components/headers/XRequestId' }, Location: { $ref: '#/components/headers/Location' } });
      assert.deepEqual(created.content['application/json']?.schema, { $ref: '#/components/schemas/User' });
      const unavailable = doc.components.responses.ServiceUnavailable as { headers: Record<string, unknown> };
      assert.deepEqual(unavailable.headers['Retry-After'], { $ref: '#/components/headers/RetryAfter' });
      assert.deepEqual(Object.keys(doc.components.schemas).sort(), ['ErrorBody', 'User', 'UserInput', 'UserPage']);
      // UserPage refers to User rather than repeating it.
      assert.deepEqual((doc.components.schemas.UserPage as { properties: { items: unknown } }).properties.items, { type: 'array', items: { $ref: '#/components/schemas/User' } });
    });

    it('/openapi.json is valid OpenAPI 3.1 (@readme/openapi-parser: the specification schema plus its semantic rules)', async () => {
      const doc = (await http(reader.url, 'GET', '/openapi.json')).json as OpenApi;
      const result = await validate(structuredClone(doc) as never);
      assert.equal(result.valid, true, result.valid ? '' : compileErrors(result));
      assert.deepEqual(result.warnings, []);
      // The validator is not a rubber stamp: a broken copy fails.
      const broken = structuredClone(doc) as unknown as { paths: Record<string, Record<string, { operationId?: string; responses?: unknown }>> };
      const list = broken.paths['/users']?.get;
      const one = broken.paths['/users/{id}']?.get;
      if (list && one) one.operationId = list.operationId;
      assert.equal((await validate(broken as never)).valid, false, 'a duplicate operationId is refused');
      const noTitle = structuredClone(doc) as unknown as { info: { title?: string } };
      delete noTitle.info.title;
      assert.equal((await validate(noTitle as never)).valid, false, 'info without a title is refused (specification schema)');
      const danglingRef = structuredClone(doc) as unknown as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
      const getUser = danglingRef.paths['/users/{id}']?.get;
      if (getUser) getUser.responses['404'] = { $ref: '#/components/responses/Missing' };
      assert.equal((await validate(danglingRef as never)).valid, false, 'a $ref to a missing component is refused');
    });

    it('no log line carries a password', () => {
      const logs = reader.logs() + writer.logs();
      assert.match(logs, /database credentials obtained/);
      for (const password of passwords) assert.ok(!logs.includes(password), 'a password reached the logs');
    });
  });
});
