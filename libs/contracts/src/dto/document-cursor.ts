import { z } from 'zod';
import { noNul } from './schema-rules.js';

/** The cursor of the document listing: how a page's position travels to the client and back. */

/**
 * A page cursor is the base64url of the last external id of the previous page: opaque to clients, and
 * checked here so that a damaged one is refused instead of silently restarting or skipping the listing.
 */
export function encodeDocumentCursor(externalId: string): string {
  return Buffer.from(externalId, 'utf8').toString('base64url');
}

export function decodeDocumentCursor(cursor: string): string {
  return Buffer.from(cursor, 'base64url').toString('utf8');
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
// Node's decoder skips characters it does not know, so only a cursor that encodes back to itself is sound.
const isDocumentCursor = (cursor: string) => {
  if (!BASE64URL.test(cursor)) return false;
  const id = decodeDocumentCursor(cursor);
  return encodeDocumentCursor(id) === cursor && id.length <= 512 && noNul(id);
};
export const DocumentCursor = z
  .string()
  .max(2048)
  .refine(isDocumentCursor, { message: 'is not a cursor returned by this listing' });
