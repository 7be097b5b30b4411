import { errorMessage, type VaultClient } from '@rotor/vault-client';
import { ConfigureError, ConfigureErrorCode } from './errors.ts';
import type { Action, Change, Plan } from './plan-types.ts';
import { revealSecrets } from './secret.ts';

export interface ApplyOptions {
  /** Called after each successful write, e.g. to print progress. */
  onAction?: (change: Change, action: Action) => void;
}

export interface ApplyResult {
  /** Write requests sent. */
  writes: number;
}

/**
 * Sends the plan's writes in order and stops at the first failure. The error
 * says which resource and request failed and how many writes had succeeded;
 * Vault's own messages are quoted, request bodies never (they hold secrets).
 */
export async function applyPlan(client: VaultClient, plan: Plan, options: ApplyOptions = {}): Promise<ApplyResult> {
  let writes = 0;
  for (const change of plan.changes) {
    for (const action of change.actions) {
      try {
        await client.request(action.method, action.path, {
          ...(action.body === undefined ? {} : { body: revealSecrets(action.body) }),
          idempotent: action.idempotent,
        });
      } catch (cause) {
        const detail = errorMessage(cause);
        throw new ConfigureError(
          ConfigureErrorCode.APPLY,
          `${change.op} ${change.id} failed at ${action.method} ${action.path} after ${writes} successful write(s): ${detail}`,
          { cause },
        );
      }
      writes++;
      options.onAction?.(change, action);
    }
  }
  return { writes };
}
