// The replicas of one service, in one of its two credential modes. A fleet starts one replica at a
// time (the caller retries a failed start, as Kubernetes restarts a pod) and stops them all.
import { VaultClient } from '@rotor/vault-client';
import { VaultLeaseSource, type DbCredentials } from '@rotor/db-credentials';

export interface Fleet {
  startReplica(): Promise<void>;
  /** The fleet's own processes (one agent per pod), for their RSS and CPU; none in direct mode. */
  pids(): number[];
  /** Replicas started that are gone before stop() (an agent that exited). */
  exitedEarly(): number;
  /** Stops every replica, as pods deleted; safe to call twice. */
  stop(): Promise<{ shutdownFailures: number }>;
}

/** Direct mode (CREDENTIALS_MODE=vault): each replica is one VaultLeaseSource, in this process. */
export class DirectFleet implements Fleet {
  readonly #vault: VaultClient;
  readonly #login: { roleId: string; secretId: string };
  readonly #role: string;
  #sources: VaultLeaseSource[] = [];

  constructor(vaultAddress: string, login: { roleId: string; secretId: string }, role: string) {
    this.#vault = new VaultClient({ address: vaultAddress });
    this.#login = login;
    this.#role = role;
  }

  async startReplica(): Promise<void> {
    const source = new VaultLeaseSource({ vault: this.#vault, login: { method: 'approle', ...this.#login }, role: this.#role });
    let current: DbCredentials = await source.start();
    this.#sources.push(source);
    // As a RotatingPool would: the old credentials go back once the new ones serve.
    source.subscribe((creds) => {
      const old = current;
      current = creds;
      void source.release(old).catch(() => undefined);
    });
  }

  pids(): number[] {
    return [];
  }

  exitedEarly(): number {
    return 0;
  }

  async stop(): Promise<{ shutdownFailures: number }> {
    const sources = this.#sources;
    this.#sources = [];
    const stopped = await Promise.allSettled(sources.map((s) => s.stop()));
    return { shutdownFailures: stopped.filter((s) => s.status === 'rejected').length };
  }
}
