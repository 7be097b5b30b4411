// TypeBox schemas of the HTTP API: validation, response serialization and the
// OpenAPI document all come from these.
import { Type, type Static } from 'typebox';

/** users.id is a PostgreSQL serial: int4, positive. */
export const MAX_USER_ID = 2_147_483_647;
/** Bounded pagination: a page never exceeds this many rows. */
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

// varchar(255) counts characters; PostgreSQL rejects NUL in text, so it is refused here as a 400.
const Text = (description: string) => Type.String({ minLength: 1, maxLength: 255, pattern: '^[^\\u0000]*$', description });

export const UserId = Type.Integer({ minimum: 1, maximum: MAX_USER_ID, description: 'User id' });

export const User = Type.Object(
  {
    id: UserId,
    title: Type.String({ description: 'Job title' }),
    name: Type.Union([Type.String(), Type.Null()], { description: 'Display name' }),
  },
);
export type User = Static<typeof User>;

export const UserInput = Type.Object(
  {
    title: Text('Job title, 1 to 255 characters'),
    name: Type.Optional(Type.Union([Text('Display name, 1 to 255 characters'), Type.Null()])),
  },
  { additionalProperties: false, description: 'PUT replaces both fields: an omitted name becomes null.' },
);
export type UserInput = Static<typeof UserInput>;

export const UserParams = Type.Object({ id: UserId }, { additionalProperties: false });

export const ListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE, description: 'Page size' })),
    after: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_USER_ID, default: 0, description: 'Return users with id greater than this (cursor)' })),
  },
  { additionalProperties: false },
);

export const UserPage = Type.Object({
  items: Type.Array(User),
  nextAfter: Type.Union([UserId, Type.Null()], { description: 'Cursor for the next page; null on the last page' }),
});

export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'Stable error code, e.g. USERS_ERR_VALIDATION' }),
    message: Type.String({ description: 'Human-readable explanation' }),
  },
  { description: 'Every error response has this shape' },
);

export const Alive = Type.Object({ status: Type.Literal('alive') }, { description: 'The process runs' });

export const Ready = Type.Object({ status: Type.Literal('ready') }, { description: 'Valid credentials, the database answers, not leaving' });

export const MetricsText = Type.String({ contentMediaType: 'text/plain', description: 'Prometheus text exposition format' });

export const OpenApiJson = Type.Object({ openapi: Type.String() }, { additionalProperties: true, description: 'This OpenAPI 3.1 document' });
