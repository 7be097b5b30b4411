// What the API groups (sys, auth, database) need of a client, and the two ways they read
// answers. Kept apart from client.ts so that the client builds the groups without the
// groups importing the client back.
import type { z } from 'zod';
import { VaultError, VaultErrorCode, isVaultError } from './errors.ts';

/** LIST is sent as GET with list=true, which every Vault and proxy understands. */
export type VaultMethod = 'GET' | 'LIST' | 'POST' | 'PUT' | 'DELETE';

export interface RequestOptions<T = unknown> {
  /** JSON body. */
  body?: unknown;
  /** Validates and shapes the parsed answer. */
  schema?: z.ZodType<T>;
  /**
   * Whether repeating the call is harmless. Defaults to true for GET, LIST and
   * DELETE, false for POST and PUT. See `shouldRetry` for what false still retries.
   */
  idempotent?: boolean;
  query?: Record<string, string | number | boolean | undefined>;
  signal?: AbortSignal;
}

export interface ExchangeOptions extends Omit<RequestOptions, 'schema'> {
  /** Error statuses returned as answers instead of thrown (e.g. health's 429 for a standby). */
  acceptStatuses?: readonly number[];
}

export interface VaultAnswer {
  status: number;
  /** Parsed JSON, or undefined for an empty body. */
  body: unknown;
}

/** The calls an API group makes; VaultClient is one. */
export interface VaultRequester {
  request<T = unknown>(method: VaultMethod, path: string, options?: RequestOptions<T>): Promise<T | undefined>;
  exchange(method: VaultMethod, path: string, options?: ExchangeOptions): Promise<VaultAnswer>;
}

/** request() for answers that must have a body: an empty one is an INVALID_RESPONSE. */
export async function requestBody<T>(
  client: VaultRequester,
  method: VaultMethod,
  path: string,
  options: RequestOptions<T> & { schema: z.ZodType<T> },
): Promise<T> {
  const answer = await client.request(method, path, options);
  if (answer !== undefined) return answer;
  throw new VaultError(VaultErrorCode.INVALID_RESPONSE, `${method} ${path}: empty answer`, { method, path });
}

/**
 * For reads where "nothing there" is a normal answer: Vault's bare 404 (no errors[]) becomes
 * undefined, while a 404 with a message (no such mount) still fails. `evenWithErrors` takes
 * those too, for readers to whom a missing mount also means nothing there yet.
 */
export async function unlessNotFound<T>(pending: Promise<T>, options: { evenWithErrors?: boolean } = {}): Promise<T | undefined> {
  try {
    return await pending;
  } catch (err) {
    if (isVaultError(err) && err.code === VaultErrorCode.NOT_FOUND && (options.evenWithErrors === true || err.errors.length === 0)) return undefined;
    throw err;
  }
}
