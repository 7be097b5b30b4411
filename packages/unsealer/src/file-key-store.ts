import { link, open as openFile, readFile, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname } from 'node:path';
import { errorMessage } from '@rotor/vault-client';
import { UnsealerError, UnsealerErrorCode } from './errors.ts';
import { KeyCodec, type KeyStore } from './key-store.ts';
import type { UnsealKeys } from './keys.ts';

const errnoOf = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

/**
 * Keys in a local file (development and static mode). Written with mode 0600
 * to a temporary file, flushed, then hard-linked into place: the link is atomic
 * and fails if the target exists, so a complete file appears or none, and
 * stored keys are never overwritten.
 */
export class FileKeyStore implements KeyStore {
  readonly description: string;
  readonly #path: string;
  readonly #codec: KeyCodec;

  constructor(path: string, options: { envelopeKey?: Buffer } = {}) {
    this.#path = path;
    this.description = `file:${path}`;
    this.#codec = new KeyCodec(this.description, options.envelopeKey);
  }

  async load(): Promise<UnsealKeys | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.#path);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return undefined;
      throw new UnsealerError(UnsealerErrorCode.KEY_STORE, `${this.description}: cannot read (${errnoOf(err) ?? errorMessage(err)})`, {
        cause: err,
      });
    }
    return this.#codec.decode(bytes);
  }

  async save(keys: UnsealKeys): Promise<void> {
    const dir = dirname(this.#path);
    const temp = `${dir}/.${basename(this.#path)}.${randomBytes(6).toString('hex')}.tmp`;
    const fail = (err: unknown): UnsealerError =>
      new UnsealerError(UnsealerErrorCode.KEY_STORE, `${this.description}: cannot write (${errnoOf(err) ?? errorMessage(err)})`, {
        cause: err,
      });
    try {
      const handle = await openFile(temp, 'wx', 0o600);
      try {
        await handle.writeFile(this.#codec.encode(keys));
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw fail(err);
    }
    try {
      await link(temp, this.#path);
    } catch (err) {
      if (errnoOf(err) === 'EEXIST') {
        throw new UnsealerError(UnsealerErrorCode.KEYS_EXIST, `${this.description}: keys are already stored; refusing to overwrite`);
      }
      throw fail(err);
    } finally {
      await unlink(temp).catch(() => undefined);
    }
    await syncDirectory(dir);
  }
}

/** Makes the new directory entry durable (a crash after link must not lose it). */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await openFile(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
