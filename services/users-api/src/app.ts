// The fastify application: routes, validation, error mapping, health and
// metrics. No I/O of its own beyond the Database it is given, so tests build
// it around a real pool and main.ts around the rotating one.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Registry } from 'prom-client';
import type { Database } from './database.ts';
import { ErrorCodes, UserNotFoundError } from './errors.ts';
import { toHttpError } from './http-errors.ts';
import { createHttpMetrics } from './metrics.ts';
import { OpenApiDocument } from './openapi.ts';
import type { Readiness } from './readiness.ts';
import { UsersRepository } from './repository.ts';
import { validatorCompiler } from './validation.ts';
import { ErrorBody, ListQuery, User, UserInput, UserPage, UserParams, DEFAULT_PAGE_SIZE } from './schemas.ts';

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

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger,
    // Per-request lines would dominate the log and the CPU; errors are logged below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimitBytes,
    // Keep-alive shorter than typical load-balancer idle timeouts is the usual advice; fastify's 72 s is longer.
    keepAliveTimeout: 65_000,
    return503OnClosing: true,
  })
    .setValidatorCompiler(validatorCompiler)
    .withTypeProvider<TypeBoxTypeProvider>();

  // Only JSON bodies: a text/plain body gets 415 instead of a confusing type error.
  app.removeContentTypeParser('text/plain');

  const openapi = new OpenApiDocument({ title: 'users-api', version: options.version ?? '0.1.0' });
  app.addHook('onRoute', (route) => openapi.add(route));

  const metrics = createHttpMetrics(options.registry);
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const code = reply.statusCode >= 400 ? reply.getHeader('x-error-code') : undefined;
    metrics.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000, typeof code === 'string' ? code : undefined);
  });

  // Once leaving, every response closes its connection so keep-alive clients reconnect to another pod.
  app.addHook('onSend', async (_request, reply) => {
    if (options.readiness.leaving) void reply.header('connection', 'close');
  });

  const unavailableCodes = options.unavailableCodes ?? new Set<string>();
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const answer = toHttpError(err, unavailableCodes);
    if (answer.fault) request.log.error({ err, route: request.routeOptions.url }, 'request failed');
    else if (answer.status === 503) request.log.warn({ code: err.code, route: request.routeOptions.url }, 'database unavailable');
    if (answer.retryAfter !== undefined) void reply.header('retry-after', String(answer.retryAfter));
    return reply.code(answer.status).header('x-error-code', answer.body.error).send(answer.body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).header('x-error-code', ErrorCodes.ROUTE_NOT_FOUND).send({ error: ErrorCodes.ROUTE_NOT_FOUND, message: `no route ${request.method} ${request.url.split('?')[0] ?? ''}` }),
  );

  const users = new UsersRepository(options.db);

  app.get('/users', { schema: { summary: 'List users, one bounded page at a time', querystring: ListQuery, response: { 200: UserPage, ...errors(400, 503) } } }, async (request) => {
    const { after = 0, limit = DEFAULT_PAGE_SIZE } = request.query;
    return users.list(after, limit);
  });

  app.get('/users/:id', { schema: { summary: 'Get one user', params: UserParams, response: { 200: User, ...errors(400, 404, 503) } } }, async (request) => {
    const user = await users.get(request.params.id);
    if (!user) throw new UserNotFoundError(request.params.id);
    return user;
  });

  app.post('/users', { schema: { summary: 'Create a user', body: UserInput, response: { 201: User, ...errors(400, 403, 413, 415, 503) } } }, async (request, reply) => {
    const user = await users.create(request.body);
    return reply.code(201).header('location', `/users/${user.id}`).send(user);
  });

  app.put('/users/:id', { schema: { summary: "Replace a user's title and name", params: UserParams, body: UserInput, response: { 200: User, ...errors(400, 403, 404, 413, 415, 503) } } }, async (request) => {
    const user = await users.update(request.params.id, request.body);
    if (!user) throw new UserNotFoundError(request.params.id);
    return user;
  });

  app.get('/healthz', () => Promise.resolve({ status: 'alive' }));

  app.get('/readyz', async (_request, reply) => {
    const result = await options.readiness.check();
    if (result.ready) return { status: 'ready' };
    return reply.code(503).header('retry-after', '5').send({ error: ErrorCodes.NOT_READY, message: result.reason });
  });

  app.get('/metrics', async (_request, reply) => reply.type(options.registry.contentType).send(await options.registry.metrics()));

  app.get('/openapi.json', () => Promise.resolve(openapi.toJSON()));

  await app.ready();
  return app;
}
