#!/usr/bin/env node
// Launcher of `rotor`: runs the TypeScript source through tsx, resolving the
// workspace packages to their sources ("rotor-source" export condition), so
// the command always matches the checked-out code with no build step.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
register(
  'data:text/javascript,' +
    encodeURIComponent(
      'export async function resolve(specifier, context, next) {' +
        " return next(specifier, { ...context, conditions: [...context.conditions, 'rotor-source'] }); }",
    ),
);
await import(new URL('../src/main.ts', import.meta.url).href);
