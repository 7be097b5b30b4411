export { DbCredentialsError, DbCredentialsErrorCode, isDbCredentialsError, type DbCredentialsErrorContext } from './errors.ts';
export { createDbCredentials, describeCredentials, sameLogin, type DbCredentials, type DbCredentialsInit } from './credentials.ts';
export type { CredentialSource, CredentialListener, RotationReason } from './source.ts';
export { CredentialMetrics, type PoolStats } from './metrics.ts';
export { RotatingPool, type RotatingPoolOptions, type DatabaseChoice, type PoolSettings, type TransactionClient } from './rotating-pool.ts';
export type { DbDriver, DbPool, DbPoolStats, DbConnection, DbLogin, DbErrorClass, DbErrorKind, DbQueryable, DbQueryResult, DbRow } from './drivers/driver.ts';
export { postgresDriver, classifyPostgresError } from './drivers/postgres.ts';
export { SECRET_LOG_PATHS } from './logger.ts';
export {
  renewalTime,
  expiryTime,
  isTruncated,
  backoffDelay,
  retryTime,
  DEFAULT_RENEWAL,
  DEFAULT_BACKOFF,
  type LeaseTerm,
  type RenewalPolicy,
  type BackoffPolicy,
} from './timing.ts';
export { AgentFileSource, type AgentFileSourceOptions } from './agent-file-source.ts';
export { parseAgentFile, type AgentFileParse, type AgentFileProblem } from './agent-file-format.ts';
export { VaultLeaseSource, type VaultLeaseSourceOptions } from './vault-lease-source.ts';
export { DEFAULT_SA_TOKEN_PATH, type VaultLogin } from './vault-login.ts';
export { MAX_TIMER_DELAY_MS, longDelay, setLongTimeout, timerStep, type LongTimer, type LongTimerOptions } from './long-timer.ts';
