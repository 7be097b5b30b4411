// The OpenAPI 3.1 document, built from the routes' own TypeBox schemas as they
// are registered, so the document cannot drift from what is validated. Named
// schemas become components and are referenced; error answers share component
// responses, which document their headers (Retry-After on 503).
import type { RouteOptions } from 'fastify';

interface RouteSchema {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  params?: JsonSchema;
  querystring?: JsonSchema;
  body?: JsonSchema;
  response?: Record<string, JsonSchema>;
}

interface JsonSchema {
  type?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  description?: string;
  contentMediaType?: string;
}

type Json = Record<string, unknown>;

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
}

export interface OpenApiComponents {
  /** Named schemas; a route schema (or part of one) that *is* one of these objects becomes a $ref. */
  schemas: Record<string, object>;
  /** The schema of every error body: error statuses answered with it share component responses. */
  errorBody: object;
}

const ref = (kind: 'schemas' | 'responses' | 'headers' | 'parameters', name: string): Json => ({ $ref: `#/components/${kind}/${name}` });

/** Error statuses with a shared component response: [component name, description]. */
const ERROR_RESPONSES: Record<string, [string, string]> = {
  '400': ['BadRequest', 'Invalid request: schema violation or malformed JSON'],
  '403': ['ForbiddenByDatabaseRole', "The service's database role lacks the privilege (SQLSTATE 42501)"],
  '404': ['NotFound', 'No such user'],
  '413': ['PayloadTooLarge', 'Body over the configured limit'],
  '415': ['UnsupportedMediaType', 'Body is not application/json'],
  '500': ['InternalError', 'Unexpected failure; details are in the log under the request id'],
  '503': ['ServiceUnavailable', 'Database unavailable, credentials being renewed, or the service is leaving; retry after Retry-After seconds'],
};

const SUCCESS_TEXT: Record<string, string> = { '200': 'OK', '201': 'Created' };

const REQUEST_ID_HEADER = { 'X-Request-Id': ref('headers', 'XRequestId') };

function staticComponents(errorBody: Json): Json {
  const errorContent = { 'application/json': { schema: ref('schemas', 'ErrorBody') } };
  const responses = Object.fromEntries(
    Object.values(ERROR_RESPONSES).map(([name, description]) => [
      name,
      {
        description,
        headers: { ...REQUEST_ID_HEADER, ...(name === 'ServiceUnavailable' ? { 'Retry-After': ref('headers', 'RetryAfter') } : {}) },
        content: errorContent,
      },
    ]),
  );
  return {
    responses,
    headers: {
      XRequestId: {
        description: "The request's id: the client's X-Request-Id when well-formed (1-128 of A-Z a-z 0-9 . _ : @ / + = -), otherwise one made by the service. Every log line of the request carries it.",
        schema: { type: 'string', minLength: 1, maxLength: 128 },
      },
      RetryAfter: { description: 'Seconds to wait before retrying', schema: { type: 'integer', minimum: 0 } },
      Location: { description: 'Path of the created resource', schema: { type: 'string', format: 'uri-reference' } },
    },
    parameters: {
      XRequestId: {
        name: 'X-Request-Id',
        in: 'header',
        required: false,
        description: 'Correlation id chosen by the client or a proxy; echoed in the response, replaced when malformed',
        schema: { type: 'string', minLength: 1, maxLength: 128 },
      },
      Traceparent: {
        name: 'traceparent',
        in: 'header',
        required: false,
        description: 'W3C Trace Context; when valid it is written to every log line of the request',
        schema: { type: 'string', pattern: '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$' },
      },
    },
    schemas: { ErrorBody: errorBody },
  };
}

export class OpenApiDocument {
  readonly #paths: Record<string, Record<string, Json>> = {};
  readonly #info: OpenApiInfo;
  readonly #names = new Map<object, string>();
  readonly #errorBody: object;
  readonly #operationIds = new Set<string>();

  constructor(info: OpenApiInfo, components: OpenApiComponents) {
    this.#info = info;
    this.#errorBody = components.errorBody;
    this.#names.set(components.errorBody, 'ErrorBody');
    for (const [name, schema] of Object.entries(components.schemas)) this.#names.set(schema, name);
  }

  /**
   * Called from fastify's onRoute hook; routes without a response schema stay
   * undocumented. A documented route must name its operationId (unique).
   */
  add(route: RouteOptions): void {
    const schema = route.schema as RouteSchema | undefined;
    if (!schema?.response) return;
    const path = route.url.replace(/:(\w+)/g, '{$1}');
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((m) => m !== 'HEAD');
    for (const method of methods) {
      const operationId = schema.operationId;
      if (operationId === undefined) throw new Error(`route ${method} ${route.url} has a response schema but no operationId`);
      if (this.#operationIds.has(operationId)) throw new Error(`operationId ${operationId} is used twice`);
      this.#operationIds.add(operationId);
      const operation: Json = {
        operationId,
        ...(schema.summary !== undefined ? { summary: schema.summary } : {}),
        ...(schema.description !== undefined ? { description: schema.description } : {}),
        ...(schema.tags !== undefined ? { tags: schema.tags } : {}),
        parameters: [...this.#parameters('path', schema.params), ...this.#parameters('query', schema.querystring), ref('parameters', 'XRequestId'), ref('parameters', 'Traceparent')],
        ...(schema.body ? { requestBody: { required: true, content: { 'application/json': { schema: this.#refs(schema.body) } } } } : {}),
        responses: Object.fromEntries(Object.entries(schema.response).map(([status, body]) => [status, this.#response(status, body)])),
      };
      (this.#paths[path] ??= {})[method.toLowerCase()] = operation;
    }
  }

  toJSON(): Json & { openapi: string } {
    const components = staticComponents(this.#refs(this.#errorBody, true) as Json);
    const schemas = components.schemas as Json;
    for (const [schema, name] of this.#names) if (name !== 'ErrorBody') schemas[name] = this.#refs(schema, true);
    return { openapi: '3.1.0', info: this.#info, paths: this.#paths, components };
  }

  #response(status: string, body: JsonSchema): Json {
    const shared = ERROR_RESPONSES[status];
    if (shared && body === this.#errorBody) return ref('responses', shared[0]);
    const headers: Json = { ...REQUEST_ID_HEADER, ...(status === '201' ? { Location: ref('headers', 'Location') } : {}), ...(status === '503' ? { 'Retry-After': ref('headers', 'RetryAfter') } : {}) };
    const mediaType = body.contentMediaType ?? 'application/json';
    return {
      description: body.description ?? SUCCESS_TEXT[status] ?? shared?.[1] ?? status,
      headers,
      content: { [mediaType]: { schema: this.#refs(body) } },
    };
  }

  #parameters(where: 'path' | 'query', schema: JsonSchema | undefined): Json[] {
    return Object.entries(schema?.properties ?? {}).map(([name, s]) => ({
      name,
      in: where,
      required: where === 'path' || (schema?.required ?? []).includes(name),
      ...(s.description !== undefined ? { description: s.description } : {}),
      schema: this.#refs(s),
    }));
  }

  /** A copy of `schema` with every named component inside it (or itself, unless `root`) replaced by a $ref. */
  #refs(schema: unknown, root = false): unknown {
    if (typeof schema !== 'object' || schema === null) return schema;
    const name = root ? undefined : this.#names.get(schema);
    if (name !== undefined) return ref('schemas', name);
    if (Array.isArray(schema)) return schema.map((item: unknown) => this.#refs(item));
    return Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, this.#refs(value)]));
  }
}
