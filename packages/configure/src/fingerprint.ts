import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import type { Secret } from './secret.ts';

// A connection's root password is write-only in Vault, and after rotate-root
// the file's password is dead anyway. To know whether the file's credentials
// are the ones Vault was last given, Rotor stores a salted scrypt hash of
// them next to the connection (like a password verifier) and compares.

const PREFIX = 'scrypt1';
const COST = { N: 1 << 14, r: 8, p: 1 };

function hash(username: string, password: Secret, salt: Buffer): Buffer {
  return scryptSync(`${username}\0${password.reveal()}`, salt, 32, COST);
}

/** A new fingerprint with a fresh salt: "scrypt1$<salt>$<hash>". */
export function credentialsFingerprint(username: string, password: Secret, salt: Buffer = randomBytes(16)): string {
  return [PREFIX, salt.toString('base64url'), hash(username, password, salt).toString('base64url')].join('$');
}

/** Whether `fingerprint` was made from exactly these credentials. */
export function fingerprintMatches(fingerprint: string | undefined, username: string, password: Secret): boolean {
  const [prefix, salt, expected] = fingerprint?.split('$') ?? [];
  if (prefix !== PREFIX || salt === undefined || expected === undefined) return false;
  const want = Buffer.from(expected, 'base64url');
  const got = hash(username, password, Buffer.from(salt, 'base64url'));
  return want.length === got.length && timingSafeEqual(want, got);
}
