export { VaultClient } from './client.ts';
export type { ExchangeOptions, RequestOptions, RetryEvent, VaultAnswer, VaultClientOptions, VaultMethod } from './client.ts';
export { VaultError, VaultErrorCode, codeForStatus, isVaultError } from './errors.ts';
export type { VaultErrorContext } from './errors.ts';
export { backoffDelayMs, defaultRetryPolicy, isCertificateError, retryAfterMs, retryDelayMs, shouldRetry } from './retry.ts';
export type { RetryPolicy } from './retry.ts';
export { isCertificateErrorCode } from './transport.ts';
export type { FetchLike } from './transport.ts';
export type { AuthApi, AuthInfo, TokenInfo } from './auth.ts';
export type {
  DatabaseApi,
  DatabaseConfig,
  DatabaseConfigInput,
  DatabaseCredentials,
  DatabaseRole,
  DatabaseRoleInput,
  Lease,
} from './database.ts';
export type {
  EnableAuthInput,
  EnableMountInput,
  Health,
  InitResult,
  Leader,
  LeaseInfo,
  LeaseRenewal,
  Mount,
  RaftConfiguration,
  RaftServer,
  SealStatus,
  SysApi,
} from './sys.ts';
