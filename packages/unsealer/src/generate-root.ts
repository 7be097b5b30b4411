// Break-glass: a new root token from the stored unseal key shares, through Vault's
// generate-root with a one-time pad, for when no standing root token exists (the
// initial one is revoked after the bootstrap). The token is returned to the caller
// only, never logged; the caller revokes it when done.
import { inspect } from 'node:util';
import { z } from 'zod';
import { VaultClient, errorMessage } from '@rotor/vault-client';
import { UnsealerError, UnsealerErrorCode } from './errors.ts';
import type { UnsealKeys } from './keys.ts';

const status = z.object({
  started: z.boolean(),
  nonce: z.string().default(''),
  progress: z.number().default(0),
  required: z.number().default(0),
  complete: z.boolean().default(false),
  encoded_token: z.string().default(''),
  otp: z.string().default(''),
});

/** The new root token, hidden from JSON, util.inspect and logs. */
export class GeneratedRoot {
  readonly #token: string;
  constructor(token: string) {
    this.#token = token;
  }
  get token(): string {
    return this.#token;
  }
  toJSON(): string {
    return '[root token]';
  }
  [inspect.custom](): string {
    return 'GeneratedRoot { [root token] }';
  }
}

/** Vault's encoding: base64 of the token XOR the OTP (same length). */
export function decodeRootToken(encoded: string, otp: string): string {
  const bytes = Buffer.from(encoded, 'base64');
  const pad = Buffer.from(otp, 'utf8');
  if (bytes.length !== pad.length) {
    throw new UnsealerError(UnsealerErrorCode.NODE, `generate-root: the encoded token has ${bytes.length} bytes, the one-time pad ${pad.length}`);
  }
  return Buffer.from(bytes.map((b, i) => b ^ (pad[i] ?? 0))).toString('utf8');
}

export interface GenerateRootOptions {
  /** Cancel an attempt someone else left in progress instead of refusing. */
  cancelExisting?: boolean;
  caCert?: string;
}

/**
 * Starts a generate-root attempt with a server-made OTP, submits the stored
 * shares up to the threshold, and decodes the token. Refuses when an attempt
 * is already in progress (someone else may be at it) unless told to cancel it.
 */
export async function generateRoot(address: string, keys: UnsealKeys, options: GenerateRootOptions = {}): Promise<GeneratedRoot> {
  const client = new VaultClient({ address, timeoutMs: 30_000, retry: { attempts: 1 }, ...(options.caCert !== undefined ? { caCert: options.caCert } : {}) });
  const fail = (step: string, err: unknown): UnsealerError =>
    err instanceof UnsealerError ? err : new UnsealerError(UnsealerErrorCode.NODE, `${address}: generate-root ${step} failed: ${errorMessage(err)}`, { node: address, cause: err });
  try {
    const current = await client.request('GET', 'sys/generate-root/attempt', { schema: status });
    if (current?.started) {
      if (!options.cancelExisting) {
        throw new UnsealerError(UnsealerErrorCode.NODE, `${address}: a generate-root attempt is already in progress (${current.progress}/${current.required} shares); pass --cancel-existing to cancel it`, { node: address });
      }
      await client.request('DELETE', 'sys/generate-root/attempt');
    }
  } catch (err) {
    throw fail('status', err);
  }
  let attempt: z.output<typeof status> | undefined;
  try {
    attempt = await client.request('PUT', 'sys/generate-root/attempt', { body: {}, schema: status });
  } catch (err) {
    throw fail('start', err);
  }
  if (!attempt?.otp || !attempt.nonce) throw fail('start', new Error('no one-time pad or nonce in the answer'));
  try {
    for (const key of keys.keys) {
      const progress = await client.request('PUT', 'sys/generate-root/update', { body: { key, nonce: attempt.nonce }, schema: status });
      if (progress?.complete) return new GeneratedRoot(decodeRootToken(progress.encoded_token, attempt.otp));
    }
  } catch (err) {
    // Leave no half-done attempt behind: it would block the next one.
    await client.request('DELETE', 'sys/generate-root/attempt').catch(() => undefined);
    throw fail('update', err);
  }
  await client.request('DELETE', 'sys/generate-root/attempt').catch(() => undefined);
  throw new UnsealerError(UnsealerErrorCode.WRONG_KEYS, `${address}: generate-root did not complete with the ${keys.shares} stored shares`, { node: address });
}
