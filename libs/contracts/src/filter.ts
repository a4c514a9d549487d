import { z } from 'zod';
import { INPUT_LIMITS, NO_NUL, noNul, WELL_FORMED, wellFormed } from './dto/schema-rules.js';

/**
 * The metadata filter language: a small Mongo-like subset. Keys name metadata fields (dots reach into
 * nested objects); a plain value means equality; an operator object combines by AND.
 */
// PostgreSQL refuses NUL in text and jsonb: such a value is the caller's error (400), never the
// database's (a 5xx that would count towards retrieval's circuit breaker).
const FilterString = z
  .string()
  .max(INPUT_LIMITS.filterStringChars)
  .refine(noNul, NO_NUL)
  .refine(wellFormed, WELL_FORMED);
export const Scalar = z.union([FilterString, z.number().finite(), z.boolean(), z.null()]);
export type Scalar = z.infer<typeof Scalar>;

const Comparable = z.union([FilterString, z.number().finite()]);
const ScalarList = z.array(Scalar).min(1).max(INPUT_LIMITS.filterListValues);

export const FilterOperators = z
  .object({
    $eq: Scalar.optional(),
    $ne: Scalar.optional(),
    $in: ScalarList.optional(),
    $nin: ScalarList.optional(),
    $gt: Comparable.optional(),
    $gte: Comparable.optional(),
    $lt: Comparable.optional(),
    $lte: Comparable.optional(),
  })
  .strict()
  .refine((ops) => Object.keys(ops).length > 0, {
    message: 'an operator object needs at least one operator',
  });
export type FilterOperators = z.infer<typeof FilterOperators>;

export const FILTER_KEY = /^[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_][A-Za-z0-9_-]*)*$/;

export const Filter = z
  .record(
    z
      .string()
      .max(200)
      .regex(FILTER_KEY, 'a filter key is a metadata field name: letters, digits, _ and -, dots for nesting')
      .refine((k) => k.split('.').length <= INPUT_LIMITS.filterKeyDepth, {
        message: `a filter key reaches at most ${INPUT_LIMITS.filterKeyDepth} levels deep`,
      }),
    z.union([Scalar, FilterOperators]),
  )
  .refine((f) => Object.keys(f).length <= INPUT_LIMITS.filterKeys, {
    message: `at most ${INPUT_LIMITS.filterKeys} filter keys`,
  });
export type Filter = z.infer<typeof Filter>;
