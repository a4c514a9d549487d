import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * An API key is `rn_<id>_<secret>`: `rn_` makes a leaked key recognisable to secret scanners, `<id>`
 * (8 random bytes, hex) names its row, and `<secret>` (32 random bytes, base64url) proves possession.
 *
 * Only SHA-256(secret) is stored. A slow password hash (bcrypt, scrypt, argon2) exists to make guessing
 * a low-entropy human password expensive; a 256-bit random secret cannot be guessed at any speed, so a
 * fast hash loses nothing and keeps each request's check to a microsecond. The comparison is in
 * constant time all the same, so a response's timing says nothing about how much of a hash matched.
 */
export const KEY_PREFIX = 'rn_';
const KEY = /^rn_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface NewKey {
  id: string;
  /** The whole key, shown once to whoever created it. */
  key: string;
  secretHash: Buffer;
}

export function newKey(): NewKey {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, key: `${KEY_PREFIX}${id}_${secret}`, secretHash: hashSecret(secret) };
}

/** The key's id and secret, or undefined when the string cannot be a key. */
export function parseKey(key: string): { id: string; secret: string } | undefined {
  const m = KEY.exec(key);
  return m ? { id: m[1], secret: m[2] } : undefined;
}

export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

export function secretMatches(secret: string, storedHash: Buffer): boolean {
  const hash = hashSecret(secret);
  return hash.length === storedHash.length && timingSafeEqual(hash, storedHash);
}
