import { z } from 'zod';
import { requestBody, unlessNotFound, type VaultRequester } from './requests.ts';
import { listKeys } from './schemas.ts';
import { withSecrets } from './secret.ts';

/** A secret with a lease: renew it with sys.renewLease, revoke it with sys.revokeLease. */
export interface Lease<T> {
  leaseId: string;
  /** Seconds. */
  leaseDuration: number;
  renewable: boolean;
  data: T;
}

/** `password` is non-enumerable: logging the object shows only the username. */
export interface DatabaseCredentials {
  username: string;
  readonly password: string;
}

const credsSchema = z
  .object({
    lease_id: z.string(),
    lease_duration: z.number(),
    renewable: z.boolean(),
    data: z.object({ username: z.string(), password: z.string() }),
  })
  .transform(
    (r): Lease<DatabaseCredentials> => ({
      leaseId: r.lease_id,
      leaseDuration: r.lease_duration,
      renewable: r.renewable,
      data: withSecrets({ username: r.data.username }, { password: r.data.password }),
    }),
  );

/**
 * What Rotor's runtime asks of the database secrets engine: dynamic credentials, the role names,
 * root rotation. Connections and roles are written by `rotor configure` (raw paths, planned) or, in
 * tests, by @rotor/testbed's vaultAdmin.
 */
export class DatabaseApi {
  readonly #client: VaultRequester;

  constructor(client: VaultRequester) {
    this.#client = client;
  }

  async listRoles(mount = 'database'): Promise<string[]> {
    return (await unlessNotFound(this.#client.request('LIST', `${mount}/roles`, { schema: listKeys }))) ?? [];
  }

  /**
   * Issues new credentials (a new database user) under a lease. Although a
   * GET, it is not idempotent: a retry after a lost answer would create a
   * second user whose lease nobody holds, so it is retried only when Vault
   * certainly did not process it.
   */
  async creds(role: string, mount = 'database'): Promise<Lease<DatabaseCredentials>> {
    return requestBody(this.#client, 'GET', `${mount}/creds/${encodeURIComponent(role)}`, { schema: credsSchema, idempotent: false });
  }

  /** Rotates the connection's root password; afterwards only Vault knows it. */
  async rotateRoot(connection: string, mount = 'database'): Promise<void> {
    await this.#client.request('POST', `${mount}/rotate-root/${encodeURIComponent(connection)}`);
  }
}
