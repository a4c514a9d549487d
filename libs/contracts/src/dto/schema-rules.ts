import { z } from 'zod';

/** Checks the schemas of several contexts share; internal to #contracts (not exported by its index). */

/** PostgreSQL cannot store NUL in text or jsonb: such input is refused up front, with the field named. */
const NUL = '\u0000';
export const noNul = (s: string) => !s.includes(NUL);
export const NO_NUL = { message: 'must not contain NUL (\\u0000) characters' };

export const QUERY_MAX_CHARS = 4000;
export const QueryText = z
  .string()
  .max(QUERY_MAX_CHARS)
  .refine((q) => q.trim().length > 0, { message: 'must not be empty' });
