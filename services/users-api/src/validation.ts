// Request validation with TypeBox. Bodies are never coerced ("42" is not a
// title's number, 42 is not a string). Path and query values arrive as text and
// are converted, but only from canonical decimal integers: TypeBox's own
// conversion would read "1.5" as 1 and serve the wrong user.
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';

const DECIMAL_INTEGER = /^-?(0|[1-9][0-9]*)$/;

interface ObjectSchema {
  properties?: Record<string, { type?: unknown }>;
}

/** Converts integer fields written as canonical decimals; leaves anything else for the check to reject. */
function convertText(schema: TSchema, value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const properties = (schema as ObjectSchema).properties ?? {};
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [key, field] of Object.entries(properties)) {
    const raw = out[key];
    if (field.type === 'integer' && typeof raw === 'string' && DECIMAL_INTEGER.test(raw)) out[key] = Number(raw);
  }
  return out;
}

export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const validator = Compile(schema);
  return (input: unknown) => {
    const value = httpPart === 'body' ? input : convertText(schema, input);
    if (validator.Check(value)) return { value: httpPart === 'body' ? value : Value.Default(schema, value) };
    return { error: validator.Errors(value) as unknown as FastifySchemaValidationError[] };
  };
};
