import { z } from 'zod';
import { INPUT_LIMITS, jsonDepth, NO_NUL, noNul, WELL_FORMED, wellFormed } from './schema-rules.js';

/** The published language's shared vocabulary: names, ids, metadata, modes and statuses. */

export const COLLECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
export const CollectionName = z
  .string()
  .regex(
    COLLECTION_NAME,
    'a collection name is 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit',
  );

export { INPUT_LIMITS, QUERY_MAX_CHARS } from './schema-rules.js';

export const DocumentId = z.string().trim().min(1).max(512).refine(noNul, NO_NUL);

const { metadataKeys, metadataDepth, metadataChars } = INPUT_LIMITS;
export const Metadata = z
  .record(z.string().max(200), z.unknown())
  .refine((m) => Object.keys(m).length <= metadataKeys, { message: `at most ${metadataKeys} keys` })
  .refine((m) => jsonDepth(m, metadataDepth) <= metadataDepth, {
    message: `nests deeper than ${metadataDepth} levels`,
  })
  .refine((m) => JSON.stringify(m).length <= metadataChars, {
    message: `is longer than ${metadataChars} characters as JSON`,
  })
  // JSON.stringify escapes NUL, so it is the escape that is looked for.
  .refine((m) => !JSON.stringify(m).includes('\\u0000'), NO_NUL)
  .refine(wellFormed, WELL_FORMED);
export type Metadata = z.infer<typeof Metadata>;

export const SearchMode = z.enum(['hybrid', 'dense', 'sparse']);
export type SearchMode = z.infer<typeof SearchMode>;

export const DocumentStatus = z.enum(['queued', 'processing', 'indexed', 'failed']);
export type DocumentStatus = z.infer<typeof DocumentStatus>;

/** The step a document is at while processing; a failed document keeps the step it failed at. */
export const DocumentStage = z.enum(['extract', 'chunk', 'embed', 'index']);
export type DocumentStage = z.infer<typeof DocumentStage>;
