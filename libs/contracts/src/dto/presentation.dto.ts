import { z } from 'zod';
import { type FusedRank, type HitExplain, SearchHit } from './retrieval.dto.js';
import { QueryText } from './schema-rules.js';

/** Presentation's published language: an answer and its sources in, the answer with its citations out. */

export const PresentRequest = z
  .object({ query: QueryText, answer: z.string(), sources: z.array(SearchHit).max(100) })
  .strict();
export type PresentRequest = z.infer<typeof PresentRequest>;

export interface Citation {
  index: number;
  documentId: string;
  chunkId: string;
  title: string | null;
  text: string;
  score: number;
  /** Only when the query asked for it. */
  explain?: CitationExplain;
}

export interface PresentResponse {
  answer: string;
  citations: Citation[];
}

export interface CitationExplain {
  /** Each variant whose search found the chunk: its index in `query.variants`, and the hit's rank there. */
  variants: ({ variant: number; rank: number } & HitExplain)[];
  /** The rank and score after fusing the variants; absent for a single variant. */
  fused?: FusedRank;
  /** Absent when the reranker failed; `before` is the rank in the candidate list it was given. */
  reranked?: FusedRank & { before: number };
}
