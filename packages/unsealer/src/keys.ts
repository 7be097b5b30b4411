import { inspect } from 'node:util';
import { z } from 'zod';
import { UnsealerError, UnsealerErrorCode } from './errors.ts';

/**
 * The unseal key shares and (by policy) the root token. Held in #private
 * fields, so JSON.stringify, util.inspect and pino only ever see the counts.
 */
export class UnsealKeys {
  readonly #keys: readonly string[];
  readonly #rootToken: string | undefined;
  readonly threshold: number;

  constructor(input: { keys: readonly string[]; threshold: number; rootToken?: string | undefined }) {
    if (input.keys.length === 0 || input.threshold < 1 || input.threshold > input.keys.length) {
      throw new UnsealerError(UnsealerErrorCode.KEY_FORMAT, `unseal keys: ${input.keys.length} shares cannot meet threshold ${input.threshold}`);
    }
    this.#keys = [...input.keys];
    this.#rootToken = input.rootToken;
    this.threshold = input.threshold;
  }

  get shares(): number {
    return this.#keys.length;
  }

  /** Base64 key shares, in the order init returned them. */
  get keys(): readonly string[] {
    return this.#keys;
  }

  get rootToken(): string | undefined {
    return this.#rootToken;
  }

  /** The same keys without the root token (for the "revoke" policy). */
  withoutRootToken(): UnsealKeys {
    return new UnsealKeys({ keys: this.#keys, threshold: this.threshold });
  }

  toJSON(): { shares: number; threshold: number } {
    return { shares: this.shares, threshold: this.threshold };
  }

  [inspect.custom](): string {
    return `UnsealKeys { shares: ${this.shares}, threshold: ${this.threshold} }`;
  }
}

const documentSchema = z.strictObject({
  version: z.literal(1),
  threshold: z.number().int().min(1),
  keys: z.array(z.string().min(1)).min(1),
  rootToken: z.string().min(1).optional(),
});

/** The stored form: a small JSON document. */
export function encodeKeys(keys: UnsealKeys): Buffer {
  const doc = { version: 1, threshold: keys.threshold, keys: keys.keys, rootToken: keys.rootToken };
  return Buffer.from(JSON.stringify(doc), 'utf8');
}

export function decodeKeys(bytes: Buffer, where: string): UnsealKeys {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new UnsealerError(UnsealerErrorCode.KEY_FORMAT, `${where}: stored keys are not JSON (wrong or missing encryption key?)`);
  }
  const parsed = documentSchema.safeParse(json);
  if (!parsed.success) {
    // Issue paths only: the values are keys.
    const fields = parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ');
    throw new UnsealerError(UnsealerErrorCode.KEY_FORMAT, `${where}: stored keys have an unexpected shape (${fields})`);
  }
  return new UnsealKeys(parsed.data);
}
