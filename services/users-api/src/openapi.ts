// The OpenAPI 3.1 document, built from the routes' own TypeBox schemas as they
// are registered, so the document cannot drift from what is validated.
import type { RouteOptions } from 'fastify';

interface RouteSchema {
  summary?: string;
  params?: JsonSchema;
  querystring?: JsonSchema;
  body?: JsonSchema;
  response?: Record<string, JsonSchema>;
}

interface JsonSchema {
  properties?: Record<string, JsonSchema & { description?: string }>;
  required?: string[];
  description?: string;
}

type Operation = Record<string, unknown>;

const STATUS_TEXT: Record<string, string> = {
  '200': 'OK', '201': 'Created', '400': 'Invalid request', '403': "Forbidden by the service's database role", '404': 'Not found',
  '413': 'Body too large', '415': 'Unsupported media type', '503': 'Database unavailable; see Retry-After',
};

function parameters(where: 'path' | 'query', schema: JsonSchema | undefined): Operation[] {
  return Object.entries(schema?.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (schema?.required ?? []).includes(name),
    ...(s.description !== undefined ? { description: s.description } : {}),
    schema: s,
  }));
}

export class OpenApiDocument {
  readonly #paths: Record<string, Record<string, Operation>> = {};
  readonly #info: { title: string; version: string };

  constructor(info: { title: string; version: string }) {
    this.#info = info;
  }

  /** Called from fastify's onRoute hook; routes without a schema stay undocumented. */
  add(route: RouteOptions): void {
    const schema = route.schema as RouteSchema | undefined;
    if (!schema?.response) return;
    const path = route.url.replace(/:(\w+)/g, '{$1}');
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((m) => m !== 'HEAD');
    for (const method of methods) {
      const responses = Object.fromEntries(
        Object.entries(schema.response).map(([status, body]) => [
          status,
          { description: STATUS_TEXT[status] ?? status, content: { 'application/json': { schema: body } } },
        ]),
      );
      const operation: Operation = {
        ...(schema.summary !== undefined ? { summary: schema.summary } : {}),
        parameters: [...parameters('path', schema.params), ...parameters('query', schema.querystring)],
        ...(schema.body ? { requestBody: { required: true, content: { 'application/json': { schema: schema.body } } } } : {}),
        responses,
      };
      (this.#paths[path] ??= {})[method.toLowerCase()] = operation;
    }
  }

  toJSON(): Record<string, unknown> {
    return { openapi: '3.1.0', info: this.#info, paths: this.#paths };
  }
}
