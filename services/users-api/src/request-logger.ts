// Each request's logger, made when the request first logs a line. A pino child
// serializes its bindings (request id, traceparent) through redaction as it is made,
// and at the usual info level most requests never log: fastify asks for a child per
// request, so that cost fell on every request.
import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';
import { traceparentFrom } from './request-context.ts';

type HeaderValue = string | string[] | undefined;
type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

export class RequestLogger implements FastifyBaseLogger {
  readonly #parent: FastifyBaseLogger;
  readonly #bindings: Bindings;
  readonly #options: ChildLoggerOptions;
  readonly #traceparentHeader: HeaderValue;
  #child: FastifyBaseLogger | undefined;

  /** `traceparentHeader` is the request's raw header: checked (request-context.ts) only if a line is logged. */
  constructor(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions, traceparentHeader: HeaderValue) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
    this.#traceparentHeader = traceparentHeader;
  }

  /** The pino child with the request's bindings, made on first use. */
  #logger(): FastifyBaseLogger {
    if (this.#child === undefined) {
      const traceparent = traceparentFrom(this.#traceparentHeader);
      this.#child = this.#parent.child(traceparent === undefined ? this.#bindings : { ...this.#bindings, traceparent }, this.#options);
    }
    return this.#child;
  }

  #log(level: Level, args: unknown[]): void {
    const logger = this.#logger();
    Reflect.apply(logger[level], logger, args);
  }

  get level(): string {
    return this.#child?.level ?? this.#options.level ?? this.#parent.level;
  }

  set level(level: string) {
    this.#logger().level = level;
  }

  fatal(...args: unknown[]): void {
    this.#log('fatal', args);
  }

  error(...args: unknown[]): void {
    this.#log('error', args);
  }

  warn(...args: unknown[]): void {
    this.#log('warn', args);
  }

  info(...args: unknown[]): void {
    this.#log('info', args);
  }

  debug(...args: unknown[]): void {
    this.#log('debug', args);
  }

  trace(...args: unknown[]): void {
    this.#log('trace', args);
  }

  silent(): void {
    // Nothing: the silent level's method.
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#logger().child(bindings, options);
  }
}
