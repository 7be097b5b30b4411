// Correlation of a request across services: X-Request-Id is taken from the
// client (or the proxy in front) when well-formed, else made here, and echoed;
// a W3C traceparent is passed through to the logs. Both are checked first,
// because they land in log lines and response headers verbatim.
import { randomUUID } from 'node:crypto';

/**
 * A request id a client may choose: 1-128 visible characters that need no
 * quoting in logs or headers (UUIDs, ULIDs, proxy-made ids such as Envoy's or
 * nginx's $request_id all fit).
 */
const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** W3C Trace Context, version 00 form: version-traceid-parentid-flags, lower-case hex. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

type HeaderValue = string | string[] | undefined;

/** The one value of a header sent once; undefined when absent or repeated. */
function single(value: HeaderValue): string | undefined {
  if (Array.isArray(value)) return value.length === 1 ? value[0] : undefined;
  return value;
}

/** The client's X-Request-Id when well-formed; otherwise a new UUID. */
export function requestIdFrom(header: HeaderValue, generate: () => string = randomUUID): string {
  const value = single(header)?.trim();
  return value !== undefined && REQUEST_ID.test(value) ? value : generate();
}

/**
 * The traceparent header when valid per W3C Trace Context (version ff and
 * all-zero ids are invalid there); undefined otherwise, so nothing forged
 * reaches the logs.
 */
export function traceparentFrom(header: HeaderValue): string | undefined {
  const value = single(header)?.trim();
  if (value === undefined) return undefined;
  const match = TRACEPARENT.exec(value);
  if (!match) return undefined;
  const [, version, traceId, parentId] = match;
  if (version === 'ff' || /^0+$/.test(traceId ?? '') || /^0+$/.test(parentId ?? '')) return undefined;
  return value;
}
