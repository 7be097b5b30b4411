import type * as UndiciModule from 'undici';
import type { Agent } from 'undici';

/** The part of `fetch` the client uses; tests and callers may pass their own. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

type Undici = typeof UndiciModule;
type UndiciRequestInit = NonNullable<Parameters<Undici['fetch']>[1]>;

/**
 * A fetch for https that trusts `caCert` (PEM). Node's built-in fetch takes no
 * CA of its own, so this is undici's fetch (the same implementation, as a
 * package) with an Agent whose TLS connections trust `caCert`, one per client.
 * Redirects are not followed here either: the client asks for 'manual' and
 * handles them itself.
 *
 * undici is loaded at the first request, not with the client: loading it makes
 * its own Agent the dispatcher of Node's built-in fetch for the whole process,
 * which a process without a caCert client keeps as Node made it.
 */
export function fetchWithCa(caCert: string): FetchLike {
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
