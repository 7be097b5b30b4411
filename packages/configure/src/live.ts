import type { LiveOf } from './kind.ts';
import { KINDS } from './kinds/index.ts';

/**
 * What Vault holds, for the kinds Rotor manages, under each kind's slot.
 * Resources under a mount are keyed by mount path, then name, and are read
 * only for mounts the file declares with the same type.
 */
export type LiveState = { [K in (typeof KINDS)[number] as K['slot']]: LiveOf<K> } & {
  /** The auth mount the applying token logged in through (undefined for a token-method token). */
  loginMount?: string;
};

export function emptyLiveState(): LiveState {
  // Each kind gives its own empty slot; the mapped type says the slots are exactly these.
  return Object.fromEntries(KINDS.map((kind) => [kind.slot, kind.emptyLive()])) as unknown as LiveState;
}
