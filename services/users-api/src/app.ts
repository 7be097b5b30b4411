// The fastify application: routes, validation, error mapping, health and
// metrics. No I/O of its own beyond the Database it is given, so tests build
// it around a real pool and main.ts around the rotating one.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Registry } from 'prom-client';
import type { Database } from './database.ts';
import { UsersApiErrorCode, UserNotFoundError } from './errors.ts';
import { toHttpError } from './http-errors.ts';
import { MethodRoutes } from './method-routes.ts';
import { createHttpMetrics } from './metrics.ts';
import { OpenApiDocument } from './openapi.ts';
import type { Readiness } from '@rotor/db-credentials/service-kit';
import { UsersRepository } from './repository.ts';
import { requestIdFrom } from './request-context.ts';
import { RequestLogger } from './request-logger.ts';
import { validatorCompiler } from './validation.ts';
import { Alive, ErrorBody, ListQuery, MetricsText, OpenApiJson, Ready, User, UserInput, UserPage, UserParams, DEFAULT_PAGE_SIZE } from './schemas.ts';

export interface AppOptions {
  db: Database;
  readiness: Readiness;
  registry: Registry;
  logger: FastifyBaseLogger;
  bodyLimitBytes: number;
  /** Error codes of the credential layer meaning "no valid credentials": answered 503. */
  unavailableCodes?: ReadonlySet<string>;
  version?: string;
}

const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [s, ErrorBody]));

const API_DESCRIPTION = `The seed's users service on rotating database credentials. Every error is an ErrorBody with a stable code.
A known path asked with a method it does not serve answers 405 with an Allow header (USERS_ERR_METHOD_NOT_ALLOWED).
Every response carries X-Request-Id; a valid W3C traceparent is written to the request's log lines.`;

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger,
    // Per-request lines at info would dominate the log and the CPU; errors are logged below, and
    // every request at debug. Each line of a request carries its id (and traceparent, if valid).
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    requestIdHeader: false,
    genReqId: (raw) => requestIdFrom(raw.headers['x-request-id']),
    // The request's pino child is made only if the request logs a line (request-logger.ts).
    childLoggerFactory: (logger, bindings, childOptions, raw) => new RequestLogger(logger, bindings, childOptions, raw.headers.traceparent),
    bodyLimit: options.bodyLimitBytes,
    // Keep-alive shorter than typical load-balancer idle timeouts is the usual advice; fastify's 72 s is longer.
    keepAliveTimeout: 65_000,
    return503OnClosing: true,
  })
    .setValidatorCompiler(validatorCompiler)
    .withTypeProvider<TypeBoxTypeProvider>();

  // Only JSON bodies: a text/plain body gets 415 instead of a confusing type error.
  app.removeContentTypeParser('text/plain');

  const openapi = new OpenApiDocument(
    { title: 'users-api', version: options.version ?? '0.1.0', description: API_DESCRIPTION },
    { schemas: { User, UserInput, UserPage }, errorBody: ErrorBody },
  );
  const routes = new MethodRoutes();
  app.addHook('onRoute', (route) => {
    openapi.add(route);
    routes.add(route);
  });

  // Hooks below take `done` rather than being async: no promise and microtask per request.
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });

  const metrics = createHttpMetrics(options.registry);
  const logEachRequest = ['debug', 'trace'].includes(options.logger.level);
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const code = reply.statusCode >= 400 ? reply.getHeader('x-error-code') : undefined;
    metrics.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000, typeof code === 'string' ? code : undefined);
    if (logEachRequest) {
      request.log.debug({ method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request completed');
    }
    done();
  });

  // Once leaving, every response closes its connection so keep-alive clients reconnect to another pod.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (options.readiness.leaving) void reply.header('connection', 'close');
    done(null, payload);
  });

  const unavailableCodes = options.unavailableCodes ?? new Set<string>();
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const answer = toHttpError(err, unavailableCodes);
    if (answer.fault) request.log.error({ err, route: request.routeOptions.url }, 'request failed');
    else if (answer.status === 503) request.log.warn({ code: err.code, reason: err.message, route: request.routeOptions.url }, 'database unavailable');
    if (answer.retryAfter !== undefined) void reply.header('retry-after', String(answer.retryAfter));
    return reply.code(answer.status).header('x-error-code', answer.body.error).send(answer.body);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = routes.allowed(path);
    if (allowed) {
      const error = UsersApiErrorCode.METHOD_NOT_ALLOWED;
      return reply.code(405).header('allow', allowed.join(', ')).header('x-error-code', error).send({ error, message: `${request.method} is not served on ${path}; allowed: ${allowed.join(', ')}` });
    }
    return reply.code(404).header('x-error-code', UsersApiErrorCode.ROUTE_NOT_FOUND).send({ error: UsersApiErrorCode.ROUTE_NOT_FOUND, message: `no route ${request.method} ${path}` });
  });

  const users = new UsersRepository(options.db);

  const usersTag = ['users'];
  app.get('/users', { schema: { operationId: 'listUsers', tags: usersTag, summary: 'List users, one bounded page at a time', querystring: ListQuery, response: { 200: UserPage, ...errors(400, 500, 503) } } }, async (request) => {
    const { after = 0, limit = DEFAULT_PAGE_SIZE } = request.query;
    return users.list(after, limit);
  });

  app.get('/users/:id', { schema: { operationId: 'getUser', tags: usersTag, summary: 'Get one user', params: UserParams, response: { 200: User, ...errors(400, 404, 500, 503) } } }, async (request) => {
    const user = await users.get(request.params.id);
    if (!user) throw new UserNotFoundError(request.params.id);
    return user;
  });

  app.post('/users', { schema: { operationId: 'createUser', tags: usersTag, summary: 'Create a user', body: UserInput, response: { 201: User, ...errors(400, 403, 413, 415, 500, 503) } } }, async (request, reply) => {
    const user = await users.create(request.body);
    return reply.code(201).header('location', `/users/${user.id}`).send(user);
  });

  app.put('/users/:id', { schema: { operationId: 'replaceUser', tags: usersTag, summary: "Replace a user's title and name", params: UserParams, body: UserInput, response: { 200: User, ...errors(400, 403, 404, 413, 415, 500, 503) } } }, async (request) => {
    const user = await users.update(request.params.id, request.body);
    if (!user) throw new UserNotFoundError(request.params.id);
    return user;
  });

  const opsTag = ['operations'];
  app.get('/healthz', { schema: { operationId: 'getLiveness', tags: opsTag, summary: 'Liveness: 200 while the process runs', response: { 200: Alive } } }, () => Promise.resolve({ status: 'alive' as const }));

  app.get('/readyz', { schema: { operationId: 'getReadiness', tags: opsTag, summary: 'Readiness: valid credentials, SELECT 1 within 2 s, not leaving', response: { 200: Ready, 503: ErrorBody } } }, async (_request, reply) => {
    const result = await options.readiness.check();
    if (result.ready) return { status: 'ready' as const };
    return reply.code(503).header('retry-after', '5').send({ error: UsersApiErrorCode.NOT_READY, message: result.reason });
  });

  app.get('/metrics', { schema: { operationId: 'getMetrics', tags: opsTag, summary: 'Prometheus metrics', response: { 200: MetricsText } } }, async (_request, reply) =>
    reply.type(options.registry.contentType).send(await options.registry.metrics()),
  );

  app.get('/openapi.json', { schema: { operationId: 'getOpenApi', tags: opsTag, summary: 'This document', response: { 200: OpenApiJson } } }, () => Promise.resolve(openapi.toJSON()));

  await app.ready();
  return app;
}
