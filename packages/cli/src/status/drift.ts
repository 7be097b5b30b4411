// Whether the live Vault configuration still matches the configuration file:
// the plan `rotor configure plan` would print, summarised. Read-only.
import { loadConfig, planChanges, readLiveState } from '@rotor/configure';
import { errorMessage, type VaultClient } from '@rotor/vault-client';
import type { DriftReport } from './model.ts';

export async function readDrift(client: VaultClient, config: string): Promise<DriftReport> {
  try {
    const desired = loadConfig(config);
    const plan = planChanges(desired, await readLiveState(client, desired), { prune: false });
    const changes = plan.changes.filter((c) => c.op !== 'unchanged').map((c) => ({ op: c.op, id: c.id, ...(c.reason ? { reason: c.reason } : {}) }));
    return { config, checked: true, inSync: changes.length === 0, resources: plan.changes.length, changes };
  } catch (err) {
    // A file problem (say, PG_ROOT_PASSWORD not set here) or a refused read: reported, not fatal.
    const message = errorMessage(err);
    return { config, checked: false, error: message.split('\n').slice(0, 4).join('; ') };
  }
}

export function driftProblems(d: DriftReport): string[] {
  if (!d.checked) return [`drift against ${d.config} not checked: ${d.error ?? 'error'}`];
  if (d.inSync) return [];
  return [`Vault drifts from ${d.config}: ${d.changes?.length ?? 0} change(s) pending (rotor configure plan -c ${d.config})`];
}
