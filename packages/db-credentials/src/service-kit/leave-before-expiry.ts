// Init-container mode: nothing renews the credentials file, so before the
// credentials expire the pod is handed back. In Kubernetes the service evicts
// its own pod (the PodDisruptionBudget decides when; SIGTERM follows);
// elsewhere, or once the deadline is reached, it stops on its own.
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { errorSummary } from '@rotor/vault-client';
import { longDelay } from '../long-timer.ts';
import type { CredentialSource } from '../source.ts';
import { evictionRetryDelay, expiryExitTime } from './expiry-exit.ts';
import { evictPod, type KubernetesAccess } from './self-eviction.ts';

export interface LeaveBeforeExpiryOptions {
  source: CredentialSource;
  /** Leave at least leadMs plus up to jitterMs before the credentials expire. */
  expiryExit: { leadMs: number; jitterMs: number };
  /** The longest a stop takes (shutdown delay plus drain): past expiry minus this, stop regardless of the budget. */
  stopBudgetMs: number;
  /** The own pod (downward API) and the API server to evict it from; either undefined outside Kubernetes. */
  pod: { name: string; namespace: string } | undefined;
  kubernetes: KubernetesAccess | undefined;
  random: () => number;
  logger: Logger;
  /** Aborted when the service stops for another reason (SIGTERM): give up quietly. */
  signal: AbortSignal;
  /** Aborted when the database refused the credentials: leave now rather than at expiry. */
  refused: AbortSignal;
  /** Told when leaving is planned (for the rotation-lead metric). */
  onPlanned?(atMs: number): void;
  /** Stops the service on its own. */
  stop(reason: string): Promise<void>;
}

/**
 * Resolves "evicted" once Kubernetes accepted the eviction (SIGTERM follows),
 * "stopped" once it stopped the service itself, "none" otherwise (no expiry,
 * cancelled, or failed: failures are logged). Never rejects.
 */
export async function leaveBeforeExpiry(options: LeaveBeforeExpiryOptions): Promise<'evicted' | 'stopped' | 'none'> {
  const { source, logger: log, signal, refused, random } = options;
  const expiresAt = source.current().expiresAt;
  if (expiresAt === undefined) {
    log.warn('credentials carry no expiry; not scheduling an exit');
    return 'none';
  }
  const { leadMs, jitterMs } = options.expiryExit;
  const leaveAt = expiryExitTime({ expiresAtMs: expiresAt.getTime(), nowMs: Date.now(), random: random(), leadMs, jitterMs });
  options.onPlanned?.(leaveAt);
  // Past this, stop regardless of the budget: serving with dead credentials helps nobody.
  const deadline = expiryExitTime({ expiresAtMs: expiresAt.getTime(), nowMs: Date.now(), random: 0, leadMs: options.stopBudgetMs, jitterMs: 0 });
  log.info({ expiresAt: expiresAt.toISOString(), leaveAt: new Date(leaveAt).toISOString() }, 'credentials are not refreshed (init container): will leave before they expire');
  try {
    // A long-safe wait: init-container credentials may live 768 h (Vault's default TTL).
    // Cut short if the database refuses the credentials before then.
    await longDelay(leaveAt - Date.now(), { signal: AbortSignal.any([signal, refused]), ref: false }).catch((err: unknown) => {
      if (signal.aborted || !refused.aborted) throw err;
    });
    const { pod, kubernetes } = options;
    while (kubernetes !== undefined && pod !== undefined && Date.now() < deadline) {
      const result = await evictPod(kubernetes, pod).catch((err: unknown) => {
        log.warn({ err: errorSummary(err) }, 'eviction request failed');
        return { outcome: 'failed' as const, status: undefined };
      });
      log.info({ outcome: result.outcome, status: result.status }, 'asked Kubernetes to evict this pod');
      if (result.outcome === 'evicted') return 'evicted';
      await delay(evictionRetryDelay(Date.now(), deadline, random()), undefined, { signal, ref: false });
    }
    await options.stop(refused.aborted ? 'credentials refused by the database' : 'credentials expiring');
    return 'stopped';
  } catch (err) {
    if (!signal.aborted) log.error({ err }, 'leaving before expiry failed');
    return 'none';
  }
}
