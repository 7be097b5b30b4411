import { z } from 'zod';
import { requestBody, unlessNotFound, type VaultRequester } from './requests.ts';
import { VaultError, VaultErrorCode, isVaultError } from './errors.ts';
import { camelKeys, snakeKeys } from './keys.ts';
import { dataOf, listKeys, looseRecord, stringMap } from './schemas.ts';
import { withSecrets } from './secret.ts';

// ---- seal, init, health, leader -------------------------------------------------

const sealStatusSchema = z
  .object({
    type: z.string().optional(),
    initialized: z.boolean(),
    sealed: z.boolean(),
    t: z.number(),
    n: z.number(),
    progress: z.number(),
    version: z.string(),
    cluster_name: z.string().optional(),
    cluster_id: z.string().optional(),
  })
  .transform((s) => ({
    type: s.type,
    initialized: s.initialized,
    sealed: s.sealed,
    t: s.t,
    n: s.n,
    progress: s.progress,
    version: s.version,
    clusterName: s.cluster_name || undefined,
    clusterId: s.cluster_id || undefined,
  }));

export type SealStatus = z.output<typeof sealStatusSchema>;

const initSchema = z.object({
  keys: z.array(z.string()),
  keys_base64: z.array(z.string()),
  root_token: z.string(),
});

/** Unseal keys and the root token: all non-enumerable, so printing the object shows none. */
export interface InitResult {
  readonly keys: string[];
  readonly keysBase64: string[];
  readonly rootToken: string;
}

const healthSchema = z
  .object({
    initialized: z.boolean(),
    sealed: z.boolean(),
    standby: z.boolean(),
    performance_standby: z.boolean().optional(),
    version: z.string(),
    cluster_name: z.string().optional(),
    cluster_id: z.string().optional(),
  })
  .transform((h) => ({
    initialized: h.initialized,
    sealed: h.sealed,
    standby: h.standby,
    performanceStandby: h.performance_standby,
    version: h.version,
    clusterName: h.cluster_name || undefined,
    clusterId: h.cluster_id || undefined,
  }));

export type Health = z.output<typeof healthSchema> & {
  /** 200 active, 429 standby, 472 DR secondary, 473 performance standby, 501 not initialized, 503 sealed. */
  status: number;
};

/** Statuses by which sys/health describes a node rather than fails. */
const HEALTH_STATUSES = [429, 472, 473, 501, 503] as const;

const leaderSchema = z
  .object({
    ha_enabled: z.boolean(),
    is_self: z.boolean(),
    leader_address: z.string(),
    leader_cluster_address: z.string(),
  })
  .transform((l) => ({
    haEnabled: l.ha_enabled,
    isSelf: l.is_self,
    leaderAddress: l.leader_address,
    leaderClusterAddress: l.leader_cluster_address,
  }));

export type Leader = z.output<typeof leaderSchema>;

// ---- raft ---------------------------------------------------------------------------

const raftJoinSchema = z.object({ joined: z.boolean() });

const raftConfigurationSchema = dataOf(
  z.object({
    config: z.object({
      servers: z.array(
        z
          .object({ node_id: z.string(), address: z.string(), leader: z.boolean(), voter: z.boolean() })
          .transform((s) => ({ nodeId: s.node_id, address: s.address, leader: s.leader, voter: s.voter })),
      ),
    }),
  }),
).transform((d) => ({ servers: d.config.servers }));

export type RaftConfiguration = z.output<typeof raftConfigurationSchema>;
export type RaftServer = RaftConfiguration['servers'][number];

// ---- mounts and auth methods ----------------------------------------------------

const mountSchema = z.object({
  type: z.string(),
  description: z.string().default(''),
  accessor: z.string().default(''),
  local: z.boolean().default(false),
  seal_wrap: z.boolean().default(false),
  config: looseRecord.nullish().transform((c) => camelKeys(c ?? {})),
  options: stringMap,
});

/** sys/mounts and sys/auth: { data: { "path/": mount } }, as a list with paths without the trailing slash. */
const mountTableSchema = dataOf(z.record(z.string(), mountSchema)).transform((table) =>
  Object.entries(table).map(([path, m]) => ({
    path: path.replace(/\/$/, ''),
    type: m.type,
    description: m.description,
    accessor: m.accessor,
    local: m.local,
    sealWrap: m.seal_wrap,
    /** Tuning (defaultLeaseTtl, maxLeaseTtl, ...), keys in camelCase. */
    config: m.config,
    options: m.options,
  })),
);

export type Mount = z.output<typeof mountTableSchema>[number];

// ---- policies and leases ------------------------------------------------------------

const policySchema = dataOf(z.object({ policy: z.string() })).transform((d) => d.policy);

const renewLeaseSchema = z
  .object({ lease_id: z.string(), lease_duration: z.number(), renewable: z.boolean() })
  .transform((l) => ({ leaseId: l.lease_id, leaseDuration: l.lease_duration, renewable: l.renewable }));

export type LeaseRenewal = z.output<typeof renewLeaseSchema>;

const leaseInfoSchema = dataOf(
  z.object({
    id: z.string(),
    ttl: z.number(),
    renewable: z.boolean(),
    issue_time: z.string().nullish(),
    expire_time: z.string().nullish(),
    last_renewal: z.string().nullish(),
  }),
).transform((l) => ({
  id: l.id,
  ttl: l.ttl,
  renewable: l.renewable,
  issueTime: l.issue_time ?? undefined,
  expireTime: l.expire_time ?? undefined,
  lastRenewal: l.last_renewal ?? undefined,
}));

export type LeaseInfo = z.output<typeof leaseInfoSchema>;

/**
 * The sys/ endpoints Rotor's runtime uses: seal, init, health, raft join and configuration,
 * reads of mounts, auth methods and policies, leases. Admin writes are `rotor configure`'s raw
 * paths, or @rotor/testbed's vaultAdmin in tests.
 */
export class SysApi {
  readonly #client: VaultRequester;

  constructor(client: VaultRequester) {
    this.#client = client;
  }

  /** Initializes the barrier. Never retried once it may have run: its keys are shown only once. */
  async init(input: { secretShares: number; secretThreshold: number }): Promise<InitResult> {
    const r = await requestBody(this.#client, 'PUT', 'sys/init', {
      body: { secret_shares: input.secretShares, secret_threshold: input.secretThreshold },
      schema: initSchema,
    });
    return withSecrets({}, { keys: r.keys, keysBase64: r.keys_base64, rootToken: r.root_token });
  }

  async sealStatus(): Promise<SealStatus> {
    return requestBody(this.#client, 'GET', 'sys/seal-status', { schema: sealStatusSchema });
  }

  /** Submits one unseal key share. */
  async unseal(key: string): Promise<SealStatus> {
    return requestBody(this.#client, 'PUT', 'sys/unseal', { body: { key }, schema: sealStatusSchema });
  }

  /** Discards the key shares submitted so far. */
  async unsealReset(): Promise<SealStatus> {
    return requestBody(this.#client, 'PUT', 'sys/unseal', { body: { reset: true }, schema: sealStatusSchema, idempotent: true });
  }

  /** The node's health; standby, sealed and uninitialized nodes are answers, not errors. */
  async health(): Promise<Health> {
    const { status, body } = await this.#client.exchange('GET', 'sys/health', { acceptStatuses: HEALTH_STATUSES });
    const parsed = healthSchema.safeParse(body);
    if (!parsed.success) {
      const message = `GET sys/health: unexpected answer with status ${status}`;
      throw new VaultError(VaultErrorCode.INVALID_RESPONSE, message, { method: 'GET', path: 'sys/health', status });
    }
    return { ...parsed.data, status };
  }

  async leader(): Promise<Leader> {
    return requestBody(this.#client, 'GET', 'sys/leader', { schema: leaderSchema });
  }

  /** Asks this (uninitialized) node to join the raft cluster led by `leaderApiAddr`. */
  async raftJoin(input: { leaderApiAddr: string; leaderCaCert?: string }): Promise<{ joined: boolean }> {
    const body = snakeKeys({ leaderApiAddr: input.leaderApiAddr, leaderCaCert: input.leaderCaCert });
    return requestBody(this.#client, 'POST', 'sys/storage/raft/join', { body, schema: raftJoinSchema });
  }

  async raftConfiguration(): Promise<RaftConfiguration> {
    return requestBody(this.#client, 'GET', 'sys/storage/raft/configuration', { schema: raftConfigurationSchema });
  }

  async listMounts(): Promise<Mount[]> {
    return requestBody(this.#client, 'GET', 'sys/mounts', { schema: mountTableSchema });
  }

  async listAuth(): Promise<Mount[]> {
    return requestBody(this.#client, 'GET', 'sys/auth', { schema: mountTableSchema });
  }

  async listPolicies(): Promise<string[]> {
    return (await unlessNotFound(this.#client.request('LIST', 'sys/policies/acl', { schema: listKeys }))) ?? [];
  }

  /** The policy's HCL, or undefined when there is no such policy. */
  async readPolicy(name: string): Promise<string | undefined> {
    return unlessNotFound(this.#client.request('GET', `sys/policies/acl/${encodeURIComponent(name)}`, { schema: policySchema }));
  }

  /** Extends a lease; Vault may grant less than asked (capped by max TTL). */
  async renewLease(leaseId: string, incrementSeconds?: number): Promise<LeaseRenewal> {
    const body = snakeKeys({ leaseId, increment: incrementSeconds });
    return requestBody(this.#client, 'PUT', 'sys/leases/renew', { body, schema: renewLeaseSchema, idempotent: true });
  }

  async revokeLease(leaseId: string): Promise<void> {
    await this.#client.request('PUT', 'sys/leases/revoke', { body: { lease_id: leaseId }, idempotent: true });
  }

  /** The lease's TTL and times, or undefined when Vault does not know it (expired or revoked). */
  async lookupLease(leaseId: string): Promise<LeaseInfo | undefined> {
    try {
      return await this.#client.request('PUT', 'sys/leases/lookup', {
        body: { lease_id: leaseId },
        schema: leaseInfoSchema,
        idempotent: true,
      });
    } catch (err) {
      // Vault answers an unknown lease with 400 "invalid lease".
      if (isVaultError(err) && err.status === 400 && err.errors.some((e) => /invalid lease/i.test(e))) return undefined;
      throw err;
    }
  }
}
