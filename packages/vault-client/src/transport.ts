import { request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';

/** The part of `fetch` the client uses; tests and callers may pass their own. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/**
 * Node's codes for a peer certificate that does not verify: not signed by the
 * trusted CA, expired, or not naming the host.
 */
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Whether a network error code says the server's certificate was refused. */
export function isCertificateErrorCode(code: string | undefined): boolean {
  return code !== undefined && CERTIFICATE_CODES.has(code);
}

/**
 * The transport for `address` trusting `caCert` (PEM): the one place that
 * decides how a CA applies. As in Vault's CLI, a CA matters for https only;
 * an http address (a dev server, loopback) uses the global fetch unchanged.
 */
export function transportFor(caCert: string | undefined): FetchLike {
  if (caCert === undefined) return fetch;
  const https = fetchWithCa(caCert);
  return (url, init) => (url.startsWith('https:') ? https(url, init) : fetch(url, init));
}

/**
 * A fetch for https that trusts `caCert` (PEM) and no other CA. Node's built-in
 * fetch cannot take a CA without the undici package, so this small adapter
 * uses node:https and hands back a standard Response. Redirects are not
 * followed here: the client handles them itself.
 */
function fetchWithCa(caCert: string): FetchLike {
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
