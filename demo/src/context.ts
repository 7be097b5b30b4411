// What every step of the demo shares.
import { fileURLToPath } from 'node:url';
import type { Narrator } from './narrator.ts';
import type { DemoOptions } from './options.ts';
import type { Secrets } from './secrets.ts';
import type { Teardown } from './teardown.ts';

export interface DemoContext {
  narrator: Narrator;
  teardown: Teardown;
  secrets: Secrets;
  options: DemoOptions;
  /** The demo's own temp dir (mode 0700): configs, key store, rendered credentials, logs. */
  dir: string;
  /** Aborted on Ctrl-C / SIGTERM: steps stop at their next wait. */
  signal: AbortSignal;
}

/** The repository root (demo/src/../..). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Figures collected on the way, for the summary table. */
export interface Figures {
  kubernetesAuth: boolean;
  /** Unsealer start -> every node initialized, joined and unsealed. */
  bootstrapMs?: number;
  /** Unsealer start -> all nodes raft voters with one leader. */
  votersMs?: number;
  leaderFailoverMs?: number;
  restartUnsealMs?: number;
  fileMode?: LoadFigures;
  vaultMode?: LoadFigures & { renewals: number; reissues: number };
  revokedUsers?: number;
}

export interface LoadFigures {
  seconds: number;
  requests: number;
  failed: number;
  rotations: number;
  usernames: number;
  p50Ms: number;
  p99Ms: number;
}
