import { decodeKeys, encodeKeys, type UnsealKeys } from './keys.ts';
import { open, seal } from './envelope.ts';

/**
 * Where the unseal keys live. Create-once: `save` never overwrites, it fails
 * with UNSEALER_KEYS_EXIST when keys are already there.
 */
export interface KeyStore {
  /** e.g. "file:/var/lib/rotor/keys.json" or "k8s-secret:vault/vault-unseal-keys". */
  readonly description: string;
  /** The stored keys, or undefined when there are none yet. */
  load(signal?: AbortSignal): Promise<UnsealKeys | undefined>;
  save(keys: UnsealKeys, signal?: AbortSignal): Promise<void>;
}

/** Keys <-> stored bytes, sealed in an envelope when an encryption key is given. */
export class KeyCodec {
  readonly #envelopeKey: Buffer | undefined;
  readonly #where: string;

  constructor(where: string, envelopeKey?: Buffer) {
    this.#where = where;
    this.#envelopeKey = envelopeKey;
  }

  encode(keys: UnsealKeys): Buffer {
    const plain = encodeKeys(keys);
    return this.#envelopeKey ? seal(plain, this.#envelopeKey) : plain;
  }

  decode(bytes: Buffer): UnsealKeys {
    const plain = this.#envelopeKey ? open(bytes, this.#envelopeKey, this.#where) : bytes;
    return decodeKeys(plain, this.#where);
  }
}
