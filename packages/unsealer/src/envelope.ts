// Envelope encryption of the stored keys with AES-256-GCM: a Kubernetes Secret
// is only base64, so with a key-encryption key mounted from elsewhere (a
// different Secret, a CSI volume) reading the Secret alone reveals nothing.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { UnsealerError, UnsealerErrorCode } from './errors.ts';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;

const envelopeSchema = z.strictObject({
  envelope: z.literal('rotor/aes-256-gcm/v1'),
  iv: z.base64(),
  tag: z.base64(),
  data: z.base64(),
});

/**
 * Reads a key-encryption key: exactly 32 bytes, given raw or as base64/hex
 * text (a trailing newline, as `kubectl create secret --from-file` keeps, is ignored).
 */
export function parseEnvelopeKey(content: Buffer, where: string): Buffer {
  if (content.length === 32) return content;
  const text = content.toString('utf8').trim();
  for (const candidate of [Buffer.from(text, 'base64'), /^[0-9a-f]{64}$/i.test(text) ? Buffer.from(text, 'hex') : undefined]) {
    if (candidate?.length === 32) return candidate;
  }
  throw new UnsealerError(UnsealerErrorCode.CONFIG, `${where}: an envelope key must be 32 bytes (raw, base64 or hex)`);
}

export function seal(plaintext: Buffer, key: Buffer, iv: Buffer = randomBytes(IV_BYTES)): Buffer {
  const cipher = createCipheriv(ALGORITHM, key, iv);
  const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const envelope = {
    envelope: 'rotor/aes-256-gcm/v1',
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
  return Buffer.from(JSON.stringify(envelope), 'utf8');
}

export function open(sealed: Buffer, key: Buffer, where: string): Buffer {
  let json: unknown;
  try {
    json = JSON.parse(sealed.toString('utf8'));
  } catch {
    json = undefined;
  }
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) {
    throw new UnsealerError(UnsealerErrorCode.KEY_FORMAT, `${where}: not an encrypted envelope (stored without encryption?)`);
  }
  try {
    const decipher = createDecipheriv(ALGORITHM, key, Buffer.from(parsed.data.iv, 'base64'));
    decipher.setAuthTag(Buffer.from(parsed.data.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(parsed.data.data, 'base64')), decipher.final()]);
  } catch {
    throw new UnsealerError(UnsealerErrorCode.KEY_FORMAT, `${where}: the envelope does not open with this key (wrong key or tampered data)`);
  }
}
