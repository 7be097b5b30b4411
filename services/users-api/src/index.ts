export { buildApp, type AppOptions } from './app.ts';
export { loadConfig, type Config, type CredentialsConfig, type CredentialMode, type VaultAuthConfig } from './config.ts';
export { UsersApiErrorCode, UsersApiError, ConfigError, UserNotFoundError, isUsersApiError, isConfigError } from './errors.ts';
export { toHttpError, isDatabaseUnavailable, RETRY_AFTER_SECONDS, type HttpError } from './http-errors.ts';
export { createLogger } from './logger.ts';
export { UsersRepository, type UserPageResult } from './repository.ts';
export { Service, type ServiceOptions } from './service.ts';
export type { Database, QueryResult } from './database.ts';
