import { z } from 'zod';
import { requestBody, type VaultRequester } from './requests.ts';
import { dataOf, stringMap } from './schemas.ts';
import { withSecrets } from './secret.ts';

const authSchema = z
  .object({
    auth: z.object({
      client_token: z.string(),
      accessor: z.string(),
      policies: z.array(z.string()).nullish(),
      token_policies: z.array(z.string()).nullish(),
      metadata: stringMap,
      lease_duration: z.number(),
      renewable: z.boolean(),
      entity_id: z.string().default(''),
      token_type: z.string().default('service'),
      orphan: z.boolean().default(false),
    }),
  })
  .transform(({ auth: a }) =>
    withSecrets(
      {
        accessor: a.accessor,
        policies: a.policies ?? [],
        tokenPolicies: a.token_policies ?? [],
        metadata: a.metadata,
        /** Seconds until the token expires unless renewed. */
        leaseDuration: a.lease_duration,
        renewable: a.renewable,
        entityId: a.entity_id,
        tokenType: a.token_type,
        orphan: a.orphan,
      },
      { clientToken: a.client_token },
    ),
  );

/** A login's or renewal's token; `clientToken` is non-enumerable so the object can be logged. */
export type AuthInfo = z.output<typeof authSchema>;

const tokenInfoSchema = dataOf(
  z.object({
    accessor: z.string(),
    policies: z.array(z.string()).nullish(),
    ttl: z.number(),
    creation_ttl: z.number().default(0),
    explicit_max_ttl: z.number().default(0),
    period: z.number().nullish(),
    renewable: z.boolean(),
    expire_time: z.string().nullish(),
    display_name: z.string().default(''),
    entity_id: z.string().default(''),
    meta: stringMap,
    orphan: z.boolean().default(false),
    type: z.string().default('service'),
  }),
  // The answer's `id` is the token itself: deliberately not kept.
).transform((t) => ({
  accessor: t.accessor,
  policies: t.policies ?? [],
  /** Seconds left. */
  ttl: t.ttl,
  creationTtl: t.creation_ttl,
  /** 0 when there is none. */
  explicitMaxTtl: t.explicit_max_ttl,
  /** Set for periodic tokens: each renewal grants this many seconds, with no max TTL. */
  period: t.period ?? undefined,
  renewable: t.renewable,
  expireTime: t.expire_time ?? undefined,
  displayName: t.display_name,
  entityId: t.entity_id,
  meta: t.meta,
  orphan: t.orphan,
  type: t.type,
}));

export type TokenInfo = z.output<typeof tokenInfoSchema>;

/**
 * Logins and the client token's own lookup, renewal and revocation. Logins mint a new
 * token each time, so they are retried only when Vault certainly did not
 * process them.
 */
export class AuthApi {
  readonly #client: VaultRequester;

  constructor(client: VaultRequester) {
    this.#client = client;
  }

  /** Logs in with a Kubernetes service-account JWT. */
  async loginKubernetes(input: { role: string; jwt: string; mount?: string }): Promise<AuthInfo> {
    const path = `auth/${input.mount ?? 'kubernetes'}/login`;
    return requestBody(this.#client, 'POST', path, { body: { role: input.role, jwt: input.jwt }, schema: authSchema });
  }

  async loginAppRole(input: { roleId: string; secretId?: string; mount?: string }): Promise<AuthInfo> {
    const path = `auth/${input.mount ?? 'approle'}/login`;
    const body = input.secretId === undefined ? { role_id: input.roleId } : { role_id: input.roleId, secret_id: input.secretId };
    return requestBody(this.#client, 'POST', path, { body, schema: authSchema });
  }

  /** The client token's TTL, policies and renewability (also validates a static token). */
  async lookupSelf(): Promise<TokenInfo> {
    return requestBody(this.#client, 'GET', 'auth/token/lookup-self', { schema: tokenInfoSchema });
  }

  /** Renews the client token; `leaseDuration` of the answer is the new TTL (may be less than asked). */
  async renewSelf(incrementSeconds?: number): Promise<AuthInfo> {
    const body = incrementSeconds === undefined ? {} : { increment: incrementSeconds };
    return requestBody(this.#client, 'PUT', 'auth/token/renew-self', { body, schema: authSchema, idempotent: true });
  }

  /** Revokes the client token (and the leases it created): for tokens a login minted, once done with them. */
  async revokeSelf(): Promise<void> {
    await this.#client.request('PUT', 'auth/token/revoke-self', { idempotent: true });
  }
}
