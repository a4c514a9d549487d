import { z } from 'zod';

/** Checks the schemas of several contexts share; internal to #contracts (not exported by its index). */

/** PostgreSQL cannot store NUL in text or jsonb: such input is refused up front, with the field named. */
const NUL = '\u0000';
export const noNul = (s: string) => !s.includes(NUL);
export const NO_NUL = { message: 'must not contain NUL (\\u0000) characters' };

/**
 * JSON.stringify writes a lone surrogate (half of an emoji, say) as a `\ud800` escape, which PostgreSQL's
 * json and jsonb refuse: strings bound for jsonb (metadata, filter values) must be well-formed UTF-16.
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
export function wellFormed(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return !LONE_SURROGATE.test(value);
  if (value === null || typeof value !== 'object' || depth > 64) return true;
  for (const [k, v] of Object.entries(value as Record<string, unknown>))
    if (LONE_SURROGATE.test(k) || !wellFormed(v, depth + 1)) return false;
  return true;
}
export const WELL_FORMED = { message: 'must be well-formed Unicode (no lone surrogate halves)' };

export const QUERY_MAX_CHARS = 4000;
export const QueryText = z
  .string()
  .max(QUERY_MAX_CHARS)
  .refine((q) => q.trim().length > 0, { message: 'must not be empty' })
  .refine(noNul, NO_NUL);

/**
 * Caps on what one request may hold, so that no single request can make the server parse, compile or
 * send to PostgreSQL something unbounded. Documented in docs/api.md ("Input limits"); errors name the field.
 */
export const INPUT_LIMITS = {
  queryChars: QUERY_MAX_CHARS,
  filterKeys: 32,
  /** Segments of a dotted filter key (`a.b.c` is 3): how deep a filter reaches into metadata. */
  filterKeyDepth: 8,
  filterListValues: 1000,
  filterStringChars: 1000,
  metadataKeys: 64,
  metadataDepth: 8,
  metadataChars: 64 * 1024,
} as const;

/** How deep a JSON value nests (a scalar is 0), stopping as soon as `limit` is passed. */
export function jsonDepth(value: unknown, limit: number, depth = 0): number {
  if (depth > limit || value === null || typeof value !== 'object') return depth;
  let deepest = depth + 1;
  for (const v of Object.values(value as Record<string, unknown>)) {
    deepest = Math.max(deepest, jsonDepth(v, limit, depth + 1));
    if (deepest > limit) break;
  }
  return deepest;
}
