import { z } from 'zod';

/**
 * The metadata filter language: a small Mongo-like subset. Keys name metadata fields (dots reach into
 * nested objects); a plain value means equality; an operator object combines by AND.
 */
export const Scalar = z.union([z.string().max(1000), z.number().finite(), z.boolean(), z.null()]);
export type Scalar = z.infer<typeof Scalar>;

const Comparable = z.union([z.string().max(1000), z.number().finite()]);
const ScalarList = z.array(Scalar).min(1).max(1000);

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
      .regex(FILTER_KEY, 'a filter key is a metadata field name: letters, digits, _ and -, dots for nesting'),
    z.union([Scalar, FilterOperators]),
  )
  .refine((f) => Object.keys(f).length <= 32, { message: 'at most 32 filter keys' });
export type Filter = z.infer<typeof Filter>;
