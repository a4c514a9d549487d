import { z } from 'zod';
import { CollectionName } from './common.dto.js';
import { NO_NUL, noNul, QueryText } from './schema-rules.js';

/** Query understanding's published language: a question (with its conversation) in, the queries to search out. */

export const HISTORY_MAX_TURNS = 20;
export const HISTORY_TURN_MAX_CHARS = 8000;

/** One earlier turn of a conversation; the current question is `query`, not the last turn. */
export const ChatTurn = z
  .object({
    role: z.enum(['user', 'assistant']),
    content: z.string().max(HISTORY_TURN_MAX_CHARS).refine(noNul, NO_NUL),
  })
  .strict();
export type ChatTurn = z.infer<typeof ChatTurn>;

export const ChatHistory = z.array(ChatTurn).max(HISTORY_MAX_TURNS);

/** At most this many extra phrasings of a question are searched (QUERY_MULTI_QUERY). */
export const MULTI_QUERY_MAX = 5;

/**
 * Query expansion asked for by one request; an absent member takes the configured default
 * (QUERY_MULTI_QUERY, QUERY_HYDE). Both need an LLM (LLM_PROVIDER=openai); without one they are skipped.
 */
export const QueryExpansion = z
  .object({ multiQuery: z.boolean().optional(), hyde: z.boolean().optional() })
  .strict();
export type QueryExpansion = z.infer<typeof QueryExpansion>;

export const UnderstandRequest = z
  .object({
    collection: CollectionName,
    query: QueryText,
    history: ChatHistory.optional(),
    expand: QueryExpansion.optional(),
  })
  .strict();
export type UnderstandRequest = z.infer<typeof UnderstandRequest>;

export interface UnderstoodQuery {
  original: string;
  /** The standalone question as retrieval should see it: normalised, and condensed from the history. */
  text: string;
  /** ISO 639-1 code of the question's language, or `und` when it cannot be told. */
  language: string;
  /** What retrieval searches: `text` first, then its other phrasings (multi-query expansion). */
  queries: string[];
  /** A hypothetical answer passage (HyDE), searched by meaning like a document would be. */
  hyde?: string;
  /** An LLM step failed and the plain question stood in for what it would have produced. */
  degraded?: boolean;
}
