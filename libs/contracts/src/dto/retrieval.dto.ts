import { z } from 'zod';
import { Filter } from '../filter.js';
import { CollectionName, Metadata, SearchMode } from './common.dto.js';
import { QueryText } from './schema-rules.js';

/** Retrieval's published language: search and re-rank requests, hits, and the explain of how they ranked. */

export const SearchBody = z
  .object({
    collection: CollectionName,
    query: QueryText,
    topK: z.number().int().min(1).max(100).default(10),
    mode: SearchMode.default('hybrid'),
    filter: Filter.optional(),
    // Described here, as the OpenAPI document is built from these schemas.
    explain: z
      .boolean()
      .optional()
      .describe(
        'Adds `explain` to the response (the retrievers that ran, the query as each saw it, the fusion) and to ' +
          'each hit (its rank and raw score in each retriever, null where it did not return the hit, and its fused rank).',
      ),
  })
  .strict();
export type SearchBody = z.infer<typeof SearchBody>;

/** The internal search request may ask for deeper candidate lists than HTTP clients can (evaluation). */
export const SearchRequest = SearchBody.extend({ topK: z.number().int().min(1).max(1000).default(10) });
export type SearchRequest = z.infer<typeof SearchRequest>;

/* ---------- explain: why each result ranked where it did (only when a request asks) ---------- */

/** A retriever's own view of a hit: its 1-based rank and raw score, both null when it did not return it. */
export const RetrieverRank = z.object({
  rank: z.number().int().min(1).nullable(),
  score: z.number().nullable(),
  /** BM25 only: each query term's share of the score, by term (terms the chunk lacks are absent). */
  terms: z.record(z.string(), z.number()).optional(),
});
export type RetrieverRank = z.infer<typeof RetrieverRank>;

export const FusedRank = z.object({ rank: z.number().int().min(1), score: z.number() });
export type FusedRank = z.infer<typeof FusedRank>;

/**
 * One hit of one search: each retriever that ran, by name (`sparse`: BM25 score, `dense`: cosine
 * similarity), and, when several were fused, the fused rank and score.
 */
export const HitExplain = z.object({
  retrievers: z.record(z.string(), RetrieverRank),
  fused: FusedRank.optional(),
});
export type HitExplain = z.infer<typeof HitExplain>;

/** The query as BM25 saw it: its terms after normalisation, stop words and stemming, with their counts. */
export interface SparseRetrieverExplain {
  query: string;
  terms: { term: string; weight: number }[];
}

export interface DenseRetrieverExplain {
  query: string;
  model: string;
  dimensions: number;
}

/** How one search ranked: the retrievers that answered, and how their lists were fused. */
export interface SearchExplain {
  mode: SearchMode;
  retrievers: { sparse?: SparseRetrieverExplain; dense?: DenseRetrieverExplain };
  /** Absent unless two or more lists were fused; `k` is RRF's only. */
  fusion?: { method: 'score' | 'rrf'; weights: Record<string, number>; k?: number };
  /** Retrievers that failed and were answered without, as in SearchResponse. */
  degraded?: string[];
}

export const SearchHit = z.object({
  documentId: z.string(),
  chunkId: z.string(),
  score: z.number(),
  title: z.string().nullable(),
  text: z.string(),
  metadata: Metadata,
  explain: HitExplain.optional(),
});
export type SearchHit = z.infer<typeof SearchHit>;

export interface SearchResponse {
  results: SearchHit[];
  timings: Record<string, number>;
  /** Legs the search answered without, e.g. `["dense"]` when the embedder was down; absent when none. */
  degraded?: string[];
  /** Only when the request asked for it. */
  explain?: SearchExplain;
}

export const RerankRequest = z
  .object({ query: QueryText, topK: z.number().int().min(1).max(1000), hits: z.array(SearchHit) })
  .strict();
export type RerankRequest = z.infer<typeof RerankRequest>;

export interface RerankResponse {
  results: SearchHit[];
}
