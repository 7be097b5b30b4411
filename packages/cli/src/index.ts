export { createProgram } from './program.ts';
export { run } from './run.ts';
export { CliError, ExitCode } from './exit-codes.ts';
