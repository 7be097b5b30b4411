import { UnsealerError, UnsealerErrorCode } from './errors.ts';

/** A Vault/OpenBao node to look after. */
export interface NodeTarget {
  /** Stable name used in logs and metric labels: pod name, or the address. */
  id: string;
  /** API address, e.g. http://10.0.0.5:8200 */
  address: string;
}

/** Finds the cluster's nodes. Called at the start of every pass. */
export interface NodeDiscovery {
  readonly description: string;
  list(signal?: AbortSignal): Promise<NodeTarget[]>;
}

/** A fixed list of addresses (static mode). */
export class StaticDiscovery implements NodeDiscovery {
  readonly description: string;
  readonly #targets: NodeTarget[];

  constructor(addresses: readonly string[]) {
    this.#targets = addresses.map(parseAddress);
    if (this.#targets.length === 0) throw new UnsealerError(UnsealerErrorCode.CONFIG, 'static discovery needs at least one node address');
    const ids = new Set(this.#targets.map((t) => t.id));
    if (ids.size !== this.#targets.length) throw new UnsealerError(UnsealerErrorCode.CONFIG, 'node addresses must be distinct');
    this.description = `static (${this.#targets.length} nodes)`;
  }

  list(): Promise<NodeTarget[]> {
    return Promise.resolve([...this.#targets]);
  }
}

function parseAddress(text: string): NodeTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UnsealerError(UnsealerErrorCode.CONFIG, `not a node address: ${JSON.stringify(text)} (expected e.g. http://10.0.0.5:8200)`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.username || url.password) {
    throw new UnsealerError(UnsealerErrorCode.CONFIG, `not a node address: ${url.origin} (expected scheme://host:port, nothing else)`);
  }
  return { id: url.origin, address: url.origin };
}
