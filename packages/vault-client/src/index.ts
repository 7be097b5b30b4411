export { VaultClient } from './client.ts';
export type { RetryEvent, VaultClientOptions } from './client.ts';
export { requestBody, unlessNotFound } from './requests.ts';
export type { ExchangeOptions, RequestOptions, VaultAnswer, VaultMethod, VaultRequester } from './requests.ts';
export { VaultError, VaultErrorCode, codeForStatus, isVaultError } from './errors.ts';
export type { VaultErrorContext } from './errors.ts';
export { classifyVaultFailure, type VaultFailure } from './failures.ts';
export { defaultRetryPolicy, isCertificateError, retryAfterMs, retryDelayMs, shouldRetry } from './retry.ts';
export type { RetryPolicy } from './retry.ts';
export { backoffDelay, type BackoffPolicy } from './backoff.ts';
export { CodedError, errorGuard, errorMessage, errorSummary } from './error-base.ts';
export { isCertificateErrorCode } from './transport.ts';
export type { FetchLike } from './transport.ts';
export type { AuthApi, AuthInfo, TokenInfo } from './auth.ts';
export type { DatabaseApi, DatabaseCredentials, Lease } from './database.ts';
export type {
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
