// Agent-file mode: each replica is one real `bao agent` (one per pod, as the injector adds it)
// rendering the repo's templates/db-creds.json.ctmpl into a file, authenticating with AppRole.
// Its configuration follows the injector's (testbed/src/injector.ts agentConfig): a token sink in
// the agent's home, template_config exit_on_retry_failure, info logs. A pod's deletion is either
// `revoke`, what vault.hashicorp.com/agent-revoke-on-shutdown does (a preStop hook running
// `token revoke -self` with the sink's token, so Vault revokes the token's leases, then SIGTERM),
// or `exit` (the injector's default: SIGTERM only; the lease lives until Vault expires it).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { ServerProcess, waitFor } from '@rotor/testbed';
import type { Fleet } from './fleet.ts';

const run = promisify(execFile);

export const TEMPLATE = fileURLToPath(new URL('../../packages/db-credentials/templates/db-creds.json.ctmpl', import.meta.url));
/** The role the template reads (database/creds/db-reader-role). */
export const TEMPLATE_ROLE = /secret "database\/creds\/([^"]+)"/.exec(readFileSync(TEMPLATE, 'utf8'))?.[1] ?? 'db-reader-role';

export type AgentShutdown = 'revoke' | 'exit';

/** How long one agent may take to render before its start counts as failed (it is then stopped). */
const RENDER_TIMEOUT_MS = 30_000;
/** The preStop hook's own deadline: terminationGracePeriodSeconds' default. */
const PRESTOP_TIMEOUT_MS = 30_000;

interface AgentPod {
  home: string;
  agent: ServerProcess;
}

export class AgentFleet implements Fleet {
  readonly #binary: string;
  readonly #vaultAddress: string;
  readonly #shutdown: AgentShutdown;
  readonly #dir: string;
  #pods: AgentPod[] = [];
  #next = 0;
  #stopped = false;

  readonly #deleteEveryMs: number;
  /** Why the first failed preStop hook failed (the bao CLI's first line of stderr, or its timeout). */
  firstShutdownError: string | undefined;

  constructor(options: { binary: string; vaultAddress: string; login: { roleId: string; secretId: string }; shutdown: AgentShutdown; deleteEveryMs: number }) {
    this.#deleteEveryMs = options.deleteEveryMs;
    this.#binary = options.binary;
    this.#vaultAddress = options.vaultAddress;
    this.#shutdown = options.shutdown;
    this.#dir = mkdtempSync(join(tmpdir(), 'rotor-bench-agents-'));
    // One AppRole role and secret id for every replica, as direct mode logs in.
    writeFileSync(join(this.#dir, 'role-id'), options.login.roleId, { mode: 0o600 });
    writeFileSync(join(this.#dir, 'secret-id'), options.login.secretId, { mode: 0o600 });
  }

  #config(home: string): string {
    return `pid_file = "${join(home, '.pid')}"
exit_after_auth = false
vault {
  address = "${this.#vaultAddress}"
}
auto_auth {
  method "approle" {
    mount_path = "auth/approle"
    config = {
      role_id_file_path = "${join(this.#dir, 'role-id')}"
      secret_id_file_path = "${join(this.#dir, 'secret-id')}"
      remove_secret_id_file_after_reading = false
    }
  }
  sink "file" {
    config = {
      path = "${join(home, '.vault-token')}"
    }
  }
}
template_config {
  exit_on_retry_failure = true
}
template {
  source      = "${TEMPLATE}"
  destination = "${join(home, 'secrets', 'db-creds.json')}"
  perms       = "0600"
}
`;
  }

  async startReplica(): Promise<void> {
    if (this.#stopped) throw new Error('the fleet is stopped');
    const home = join(this.#dir, `pod-${this.#next++}`);
    mkdirSync(join(home, 'secrets'), { recursive: true });
    writeFileSync(join(home, 'agent.hcl'), this.#config(home));
    const agent = new ServerProcess({
      name: `bao agent (${home})`,
      command: this.#binary,
      args: ['agent', `-config=${join(home, 'agent.hcl')}`, '-log-level=info'],
      logFile: join(home, 'agent.log'),
      env: { PATH: process.env.PATH, HOME: home },
      cwd: home,
    });
    const pod = { home, agent };
    this.#pods.push(pod);
    const rendered = join(home, 'secrets', 'db-creds.json');
    try {
      await waitFor('the agent to render db-creds.json', () => Promise.resolve(existsSync(rendered) ? true : undefined), {
        timeoutMs: RENDER_TIMEOUT_MS,
        intervalMs: 100,
        signal: agent.exitSignal,
      });
    } catch (err) {
      // A pod that never became ready is deleted, as a failed readiness would get it replaced.
      this.#pods = this.#pods.filter((p) => p !== pod);
      await this.#deletePod(pod).catch(() => undefined);
      throw agent.failure('did not render', err);
    }
  }

  pids(): number[] {
    return this.#pods.filter((p) => p.agent.running).flatMap((p) => (p.agent.pid === undefined ? [] : [p.agent.pid]));
  }

  exitedEarly(): number {
    return this.#pods.filter((p) => !p.agent.running).length;
  }

  /** preStop (revoke), then SIGTERM; true if the preStop hook failed. */
  async #deletePod(pod: AgentPod): Promise<boolean> {
    let failed = false;
    try {
      const sink = join(pod.home, '.vault-token');
      if (this.#shutdown === 'revoke' && pod.agent.running && existsSync(sink)) {
        const env = { PATH: process.env.PATH, HOME: pod.home, BAO_ADDR: this.#vaultAddress, BAO_TOKEN: readFileSync(sink, 'utf8').trim() };
        await run(this.#binary, ['token', 'revoke', '-self'], { env, timeout: PRESTOP_TIMEOUT_MS }).catch((err: unknown) => {
          failed = true;
          const { killed, stderr } = err as { killed?: boolean; stderr?: string };
          this.firstShutdownError ??= killed ? `token revoke -self: no exit within ${PRESTOP_TIMEOUT_MS} ms` : `token revoke -self: ${(stderr ?? '').trim().split('\n')[0] ?? ''}`;
        });
      }
    } finally {
      await pod.agent.stop();
    }
    return failed;
  }

  async stop(): Promise<{ shutdownFailures: number }> {
    this.#stopped = true;
    const pods = this.#pods;
    this.#pods = [];
    try {
      // Pods go one every deleteEveryMs, as a rollout replaces them (as they started).
      const deleted = await Promise.allSettled(pods.map(async (p, i) => (await delay(i * this.#deleteEveryMs), this.#deletePod(p))));
      return { shutdownFailures: deleted.filter((d) => d.status === 'rejected' || d.value).length };
    } finally {
      // Every agent is gone (stop() escalates to SIGKILL) before its home goes.
      await Promise.allSettled(pods.map((p) => p.agent.stop()));
      rmSync(this.#dir, { recursive: true, force: true });
    }
  }
}
