import { request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';

/** The part of `fetch` the client uses; tests and callers may pass their own. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/**
 * A fetch for https that trusts `caCert` (PEM). Node's built-in fetch cannot
 * take a CA without the undici package, so this small adapter uses
 * node:https and hands back a standard Response. Redirects are not followed
 * here: the client handles them itself.
 */
export function fetchWithCa(caCert: string): FetchLike {
  return (url, init) =>
    new Promise<Response>((resolve, reject) => {
      const headers = new Headers(init.headers);
      const req = httpsRequest(
        url,
        {
          method: init.method ?? 'GET',
          headers: Object.fromEntries(headers.entries()),
          ca: caCert,
          ...(init.signal ? { signal: init.signal } : {}),
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const status = res.statusCode ?? 500;
            const responseHeaders = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              if (typeof value === 'string') responseHeaders.set(name, value);
              else if (Array.isArray(value)) for (const v of value) responseHeaders.append(name, v);
            }
            const body = NULL_BODY_STATUSES.has(status) ? null : Buffer.concat(chunks);
            resolve(new Response(body, { status, headers: responseHeaders }));
          });
        },
      );
      req.on('error', reject);
      if (typeof init.body === 'string') req.end(init.body);
      else req.end();
    });
}
