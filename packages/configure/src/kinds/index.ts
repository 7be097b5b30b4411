import { auditDevices } from './audit.ts';
import { authMethods } from './auth-methods.ts';
import { authRoles } from './auth-roles.ts';
import { databaseConnections } from './database-connections.ts';
import { databaseRoles } from './database-roles.ts';
import { databaseStaticRoles } from './database-static-roles.ts';
import { kubernetesConfigs } from './kubernetes-config.ts';
import { policies } from './policies.ts';
import { secretsEngines } from './secrets-engines.ts';

/**
 * Every kind, in the one order there is: the file's schema, the loaded model,
 * the live state, the reads and the plan are all assembled from this list, and
 * creates and updates are applied in it (deletes in reverse). Audit first (so
 * later writes are audited), mounts before what lives in them, policies before
 * the roles that name them, connections before their roles.
 *
 * Adding a kind: one file in this directory (see kind.ts) and one line here.
 */
export const KINDS = [
  auditDevices,
  authMethods,
  kubernetesConfigs,
  policies,
  secretsEngines,
  databaseConnections,
  databaseRoles,
  databaseStaticRoles,
  authRoles,
] as const;

/** The kinds' names in apply order. */
export const KIND_ORDER: readonly (typeof KINDS)[number]['name'][] = KINDS.map((kind) => kind.name);
