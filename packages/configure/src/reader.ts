import { errorMessage, type VaultClient } from '@rotor/vault-client';
import { ConfigureError, ConfigureErrorCode } from './errors.ts';
import { KINDS } from './kinds/index.ts';
import { emptyLiveState } from './live.ts';
import type { LiveState } from './live.ts';
import type { DesiredConfig } from './model.ts';

/** Reads the live state of every managed kind; read-only, so a failure leaves Vault untouched. */
export async function readLiveState(client: VaultClient, desired: DesiredConfig): Promise<LiveState> {
  const live = emptyLiveState();
  for (const kind of KINDS) {
    try {
      await kind.read(client, desired, live);
    } catch (cause) {
      const detail = errorMessage(cause);
      throw new ConfigureError(ConfigureErrorCode.READ, `reading ${kind.name} state from Vault failed: ${detail}`, { cause });
    }
  }
  return live;
}
