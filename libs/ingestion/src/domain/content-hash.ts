/**
 * Owns the fingerprint of a document's content, used to skip re-ingesting a document that has not changed.
 * Equal content hashes equal whatever the key order of its metadata; any change of content, title or
 * metadata gives another hash.
 */
import { Buffer } from 'node:buffer';
import { createHash, type Hash } from 'node:crypto';

export interface ContentHashParts {
  text?: string;
  bytes?: Uint8Array;
  /** `null` and absent both mean "no title". */
  title?: string | null;
  metadata: Record<string, unknown>;
}

export function contentHash(parts: ContentHashParts): string {
  if (parts.text === undefined && parts.bytes === undefined) {
    throw new Error('contentHash needs the text or the bytes of the document');
  }
  const hash = createHash('sha256');
  // Each field is written as `name:byteLength:` then its data, so no two different inputs share an encoding.
  writeField(hash, 'v', '1');
  if (parts.text !== undefined) writeField(hash, 'text', parts.text);
  if (parts.bytes !== undefined) writeField(hash, 'bytes', parts.bytes);
  if (parts.title != null) writeField(hash, 'title', parts.title);
  writeField(hash, 'metadata', canonicalJson(parts.metadata));
  return `sha256:${hash.digest('hex')}`;
}

function writeField(hash: Hash, name: string, data: string | Uint8Array): void {
  const byteLength = typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.byteLength;
  hash.update(`${name}:${byteLength}:`);
  hash.update(data);
}

/**
 * The content hash of a file's bytes that are not at hand (a staged upload, hashed where it is stored):
 * `sha256(head || bytes || tail)` is exactly `contentHash({ bytes, title, metadata })`.
 */
export function contentHashFraming(
  parts: Omit<ContentHashParts, 'text' | 'bytes'> & { byteLength: number },
): {
  head: Buffer;
  tail: Buffer;
} {
  const field = (name: string, data: string) => `${name}:${Buffer.byteLength(data, 'utf8')}:${data}`;
  const head = `${field('v', '1')}bytes:${parts.byteLength}:`;
  const title = parts.title != null ? field('title', parts.title) : '';
  const tail = `${title}${field('metadata', canonicalJson(parts.metadata))}`;
  return { head: Buffer.from(head, 'utf8'), tail: Buffer.from(tail, 'utf8') };
}

/**
 * JSON with the keys of every object sorted, so that key order does not matter. Everything else follows
 * JSON.stringify (toJSON is honoured, undefined members are left out), which is how metadata is stored.
 */
function canonicalJson(value: unknown): string {
  const json = JSON.stringify(value, (_key, member: unknown) =>
    isPlainObject(member) ? sortKeys(member) : member,
  );
  // JSON.stringify returns undefined for undefined, functions and symbols at the top level.
  return json ?? 'null';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

function sortKeys(object: Record<string, unknown>): Record<string, unknown> {
  // A null prototype makes a "__proto__" key an ordinary member instead of a prototype change.
  const sorted: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(object).sort()) sorted[key] = object[key];
  return sorted;
}
