// The service kit: what a Node service needs around RotatingPool to run on
// rotating credentials — the credential modes from the environment, the source
// for each mode, readiness, and the init-container exit (leave before expiry,
// by self-eviction). Imported as `@rotor/db-credentials/service-kit`.
export { EnvReader, type Env } from './env-reader.ts';
export {
  readCredentialsConfig,
  credentialsConfigFromEnv,
  isInitContainerMode,
  hasExactExpiry,
  type CredentialMode,
  type CredentialsConfig,
  type VaultAuthConfig,
} from './credential-modes.ts';
export { createCredentialSource } from './source-factory.ts';
export { StaticSource } from './static-source.ts';
export { RefusalNotifyingSource } from './refusal-notifying-source.ts';
export { expiryExitTime, evictionRetryDelay, expiryReadinessMarginMs, credentialsExpiryProblem, type ExpiryExitInput } from './expiry-exit.ts';
export { evictPod, inClusterAccess, type EvictionOutcome, type KubernetesAccess } from './self-eviction.ts';
export { leaveBeforeExpiry, type LeaveBeforeExpiryOptions } from './leave-before-expiry.ts';
export { Readiness, DATABASE_FAILURE_WINDOW_MS, type ReadinessChecks, type ReadinessOptions, type ReadinessResult } from './readiness.ts';
export { poolReadiness, type PoolReadinessOptions } from './pool-readiness.ts';
export { readExpiryExitConfig, readPodIdentity, type ExpiryExitConfig, type PodIdentity } from './exit-settings.ts';
export { startDatabase, type StartDatabaseOptions, type RunningDatabase } from './start-database.ts';
