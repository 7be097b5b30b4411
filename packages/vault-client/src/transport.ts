import { Agent, fetch as undiciFetch, type RequestInit as UndiciRequestInit } from 'undici';

/** The part of `fetch` the client uses; tests and callers may pass their own. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/**
 * A fetch for https that trusts `caCert` (PEM). Node's built-in fetch takes no
 * CA of its own, so this is undici's fetch (the same implementation, as a
 * package) with an Agent whose TLS connections trust `caCert`, one per client.
 * Redirects are not followed here either: the client asks for 'manual' and
 * handles them itself.
 */
export function fetchWithCa(caCert: string): FetchLike {
  const dispatcher = new Agent({ connect: { ca: caCert } });
  // The client's init holds only a method, headers, a string body, a signal and 'manual':
  // the same in undici's own types, whose BodyInit differs from the global one in FormData.
  return (url, init) => undiciFetch(url, { ...(init as UndiciRequestInit), dispatcher });
}
