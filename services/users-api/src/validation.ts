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

type Converter = (value: unknown) => unknown;

/**
 * Converts integer fields written as canonical decimals; leaves anything else for the check
 * to reject. The integer fields are found once per schema, not per request.
 */
function textConverter(schema: TSchema): Converter {
  const integerKeys = Object.entries((schema as ObjectSchema).properties ?? {})
    .filter(([, field]) => field.type === 'integer')
    .map(([key]) => key);
  return (value) => {
    if (typeof value !== 'object' || value === null) return value;
    let out: Record<string, unknown> | undefined;
    for (const key of integerKeys) {
      const raw = (value as Record<string, unknown>)[key];
      if (typeof raw === 'string' && DECIMAL_INTEGER.test(raw)) {
        out ??= { ...(value as Record<string, unknown>) };
        out[key] = Number(raw);
      }
    }
    return out ?? value;
  };
}

/** Whether a schema declares a default anywhere: only then is Value.Default worth its walk per request. */
function declaresDefault(schema: unknown): boolean {
  if (typeof schema !== 'object' || schema === null) return false;
  return Object.hasOwn(schema, 'default') || Object.values(schema).some(declaresDefault);
}

export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const validator = Compile(schema);
  const errors = (value: unknown) => ({ error: validator.Errors(value) as unknown as FastifySchemaValidationError[] });
  if (httpPart === 'body') return (input: unknown) => (validator.Check(input) ? { value: input } : errors(input));
  const convert = textConverter(schema);
  const withDefaults = declaresDefault(schema);
  return (input: unknown) => {
    const value = convert(input);
    if (!validator.Check(value)) return errors(value);
    return { value: withDefaults ? Value.Default(schema, value) : value };
  };
};
