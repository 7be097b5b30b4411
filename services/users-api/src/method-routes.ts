// Which methods each known path serves, so that an unserved method on a known
// path is answered 405 with an Allow header (RFC 9110 §15.5.6), not 404.
import type { RouteOptions } from 'fastify';

interface PathMethods {
  pattern: RegExp;
  methods: Set<string>;
}

/** `/users/:id` -> /^\/users\/[^/]+$/ (a parameter is one non-empty segment). */
function patternOf(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}

export class MethodRoutes {
  readonly #paths = new Map<string, PathMethods>();

  /** Called from fastify's onRoute hook. */
  add(route: Pick<RouteOptions, 'url' | 'method'>): void {
    const entry = this.#paths.get(route.url) ?? { pattern: patternOf(route.url), methods: new Set<string>() };
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
      entry.methods.add(method.toUpperCase());
      // fastify answers HEAD for every GET route (exposeHeadRoutes).
      if (method.toUpperCase() === 'GET') entry.methods.add('HEAD');
    }
    this.#paths.set(route.url, entry);
  }

  /** The methods served at `path` (no query string), sorted; undefined for an unknown path. */
  allowed(path: string): string[] | undefined {
    const methods = new Set<string>();
    for (const { pattern, methods: served } of this.#paths.values()) {
      if (pattern.test(path)) for (const m of served) methods.add(m);
    }
    return methods.size > 0 ? [...methods].sort() : undefined;
  }
}
