import type * as UndiciModule from 'undici';
import type { Agent } from 'undici';

/** The part of `fetch` the client uses; tests and callers may pass their own. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

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

type Undici = typeof UndiciModule;
type UndiciRequestInit = NonNullable<Parameters<Undici['fetch']>[1]>;

/**
 * A fetch for https that trusts `caCert` (PEM) and no other CA. Node's built-in
 * fetch takes no CA of its own, so this is undici's fetch (the same
 * implementation, as a package) with an Agent whose TLS connections trust
 * `caCert`, one per client. Redirects are not followed here either: the client
 * asks for 'manual' and handles them itself.
 *
 * undici is loaded at the first request, not with the client: loading it makes
 * its own Agent the dispatcher of Node's built-in fetch for the whole process,
 * which a process without a caCert client keeps as Node made it.
 */
function fetchWithCa(caCert: string): FetchLike {
  let loaded: Promise<{ undici: Undici; dispatcher: Agent }> | undefined;
  const load = async (): Promise<{ undici: Undici; dispatcher: Agent }> => {
    const undici = await import('undici');
    return { undici, dispatcher: new undici.Agent({ connect: { ca: caCert } }) };
  };
  return async (url, init) => {
    const { undici, dispatcher } = await (loaded ??= load());
    // The client's init holds only a method, headers, a string body, a signal and 'manual':
    // the same in undici's own types, whose BodyInit differs from the global one in FormData.
    return undici.fetch(url, { ...(init as UndiciRequestInit), dispatcher });
  };
}
