// The Vault-facing driver: observe a node, carry out an action on it.
import { VaultClient, classifyVaultFailure, isVaultError, errorMessage } from '@rotor/vault-client';
import { UnsealerError, UnsealerErrorCode } from './errors.ts';
import type { NodeTarget } from './discovery.ts';
import type { NodeState, Rejection } from './reconcile.ts';
import { UnsealKeys } from './keys.ts';

/** A pass is the retry loop, so each call is tried once and bounded in time. */
const clientOptions = { timeoutMs: 5_000, retry: { attempts: 1 } };
/**
 * Init sets up raft and the barrier and can take seconds on a busy machine.
 * Giving up early would lose the keys: the answer is their only copy.
 */
const INIT_TIMEOUT_MS = 300_000;
const JOIN_TIMEOUT_MS = 60_000;

/**
 * Errors that mean "cannot talk to this node now", not "the node said no". A refused certificate
 * (wrong CA) is a setting to fix: it is reported (logged with its reason), not hidden as unreachable.
 */
function isUnreachable(err: unknown): boolean {
  return classifyVaultFailure(err) === 'unreachable';
}

export type UnsealOutcome = { unsealed: boolean; rejection?: Rejection };

/**
 * Vault's answer when shares do not open the barrier: 400 "failed to decrypt
 * keys ... message authentication failed" for a member, 500 "error decrypting
 * challenge" for a joining node, 400 "invalid key" for a malformed share.
 */
export function keyRejection(err: unknown): string | undefined {
  if (!isVaultError(err) || (err.status !== 400 && err.status !== 500)) return undefined;
  return err.errors.find((e) => /message authentication failed|decrypting challenge|invalid key/i.test(e));
}

export class NodeDriver {
  readonly #clients = new Map<string, VaultClient>();
  readonly #caCert: string | undefined;

  /** `caCert`: PEM bundle that signed the nodes' TLS certificates (VAULT_CACERT); default: system roots. */
  constructor(options: { caCert?: string | undefined } = {}) {
    this.#caCert = options.caCert;
  }

  /** The client's CA option (applied by the client to https nodes only). */
  get #tls(): { caCert?: string } {
    return this.#caCert !== undefined ? { caCert: this.#caCert } : {};
  }

  #client(address: string): VaultClient {
    let client = this.#clients.get(address);
    if (!client) {
      client = new VaultClient({ address, ...clientOptions, ...this.#tls });
      this.#clients.set(address, client);
    }
    return client;
  }

  /** Seal status plus, for unsealed nodes, whether it is the active one. */
  async observe(target: NodeTarget): Promise<NodeState> {
    const client = this.#client(target.address);
    const unreachable: NodeState = {
      ...target,
      reachable: false,
      initialized: false,
      sealed: true,
      progress: 0,
      threshold: 0,
      active: false,
    };
    try {
      const seal = await client.sys.sealStatus();
      const state: NodeState = {
        ...target,
        reachable: true,
        initialized: seal.initialized,
        sealed: seal.sealed,
        progress: seal.progress,
        threshold: seal.t,
        active: false,
      };
      if (seal.sealed) return state;
      const health = await client.sys.health();
      return { ...state, active: health.status === 200, clusterId: health.clusterId ?? seal.clusterId };
    } catch (err) {
      if (isUnreachable(err)) return unreachable;
      throw nodeError(target, 'observe', err);
    }
  }

  async initialize(target: NodeTarget, shares: number, threshold: number): Promise<UnsealKeys> {
    try {
      const client = new VaultClient({ address: target.address, ...clientOptions, ...this.#tls, timeoutMs: INIT_TIMEOUT_MS });
      const init = await client.sys.init({ secretShares: shares, secretThreshold: threshold });
      return new UnsealKeys({ keys: init.keysBase64, threshold, rootToken: init.rootToken });
    } catch (err) {
      throw nodeError(target, 'initialize', err);
    }
  }

  async join(target: NodeTarget, leaderAddress: string): Promise<void> {
    let joined: boolean;
    try {
      const client = new VaultClient({ address: target.address, ...clientOptions, ...this.#tls, timeoutMs: JOIN_TIMEOUT_MS });
      // The joining node dials the leader itself: it needs the CA too (leader_ca_cert), for https.
      const leaderCa = leaderAddress.startsWith('https:') ? this.#caCert : undefined;
      joined = (await client.sys.raftJoin({ leaderApiAddr: leaderAddress, ...(leaderCa !== undefined ? { leaderCaCert: leaderCa } : {}) })).joined;
    } catch (err) {
      throw nodeError(target, `join ${leaderAddress}`, err);
    }
    if (!joined) throw new UnsealerError(UnsealerErrorCode.NODE, `${target.id}: join ${leaderAddress} was refused`, { node: target.id });
  }

  /**
   * Submits shares until the node unseals or has them all. Leftover progress
   * from an interrupted attempt is reset first, so every share counts. A node
   * joining raft answers "sealed" to the last share and unseals once it has
   * the leader's data; the caller watches for that.
   */
  async unseal(target: NodeTarget, keys: UnsealKeys, signal?: AbortSignal): Promise<UnsealOutcome> {
    const client = this.#client(target.address);
    try {
      let status = await client.sys.sealStatus();
      if (!status.sealed) return { unsealed: true };
      if (status.progress > 0) status = await client.sys.unsealReset();
      for (const key of keys.keys) {
        signal?.throwIfAborted();
        try {
          status = await client.sys.unseal(key);
        } catch (err) {
          const detail = keyRejection(err);
          if (detail !== undefined) return { unsealed: false, rejection: { node: target.id, detail } };
          throw err;
        }
        if (!status.sealed || status.progress === 0) break;
      }
      return { unsealed: !status.sealed };
    } catch (err) {
      throw nodeError(target, 'unseal', err);
    }
  }

  /** Revokes the root token (policy "revoke"): the token revokes itself. */
  async revokeRootToken(target: NodeTarget, rootToken: string): Promise<void> {
    try {
      await this.#client(target.address).withToken(rootToken).auth.revokeSelf();
    } catch (err) {
      throw nodeError(target, 'revoke root token', err);
    }
  }
}

/** Wraps a failure with the node and operation; Vault's messages carry no keys. */
function nodeError(target: NodeTarget, operation: string, err: unknown): UnsealerError {
  if (err instanceof UnsealerError) return err;
  if (signalAbort(err)) return new UnsealerError(UnsealerErrorCode.ILLEGAL_STATE, `${target.id}: ${operation} aborted`, { node: target.id });
  return new UnsealerError(UnsealerErrorCode.NODE, `${target.id}: ${operation} failed: ${errorMessage(err)}`, { node: target.id, cause: err });
}

function signalAbort(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}
