import type { ResourceKind } from '../kind.ts';
import { auditDevices } from './audit.ts';
import { authMethods } from './auth-methods.ts';
import { authRoles } from './auth-roles.ts';
import { databaseConnections } from './database-connections.ts';
import { databaseRoles } from './database-roles.ts';
import { kubernetesConfigs } from './kubernetes-config.ts';
import { policies } from './policies.ts';
import { secretsEngines } from './secrets-engines.ts';

/**
 * Every kind, in dependency order: audit first (so later writes are audited),
 * mounts before what lives in them, policies before the roles that name them,
 * connections before their roles.
 */
export const KINDS: readonly ResourceKind[] = [
  auditDevices,
  authMethods,
  kubernetesConfigs,
  policies,
  secretsEngines,
  databaseConnections,
  databaseRoles,
  authRoles,
];
