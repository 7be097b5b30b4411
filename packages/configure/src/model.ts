import type { DesiredOf } from './kind.ts';
import type { KINDS } from './kinds/index.ts';

// The configuration after loading: secrets resolved to Secret objects, files
// read, durations in seconds, statements as lists. Bodies keep Vault's field
// names so that they are sent as they are and compared field by field.

/** A Vault request body; values are JSON or Secret. */
export type Body = Record<string, unknown>;

export interface DesiredNamed {
  name: string;
  body: Body;
}

/** Every kind's desired state, under its slot (e.g. `databaseRoles`). */
export type DesiredConfig = { [K in (typeof KINDS)[number] as K['slot']]: DesiredOf<K> };
