import type { HitExplain, SearchExplain, SearchRequest } from '#contracts';
import { type AppConfig } from '#platform';
import { englishAnalyzer, termFrequencies } from '#text-analysis';
import { explainHits, type ScoredId } from '../../domain/explain.js';
import type { CollectionStats } from '../../infrastructure/chunk-search.repository.js';

/** What a search did, as the handler saw it, for `explain`. */
export interface SearchTrace {
  request: SearchRequest;
  collection: CollectionStats;
  /** What each retriever that answered returned, by name (`sparse`, `dense`), best first. */
  legs: Record<string, readonly ScoredId[]>;
  /** The list the search returns, in its order: the fused one when `fused`. */
  ranked: readonly ScoredId[];
  fused: boolean;
  degraded: readonly string[];
}

/** The response's `explain` and each hit's, by chunk id (the ranked ids). */
export function explainSearch(
  trace: SearchTrace,
  retrieval: AppConfig['retrieval'],
): { search: SearchExplain; hits: Map<string, HitExplain> } {
  const { request, collection, legs } = trace;
  const retrievers: SearchExplain['retrievers'] = {};
  if (legs.sparse) {
    // The same analysis as the sparse leg's query.
    const terms = termFrequencies(englishAnalyzer.terms(request.query));
    retrievers.sparse = {
      query: request.query,
      terms: [...terms].map(([term, weight]) => ({ term, weight })),
    };
  }
  if (legs.dense) {
    retrievers.dense = {
      query: request.query,
      model: collection.embeddingModel,
      dimensions: collection.dimensions,
    };
  }
  const search: SearchExplain = { mode: request.mode, retrievers };
  if (trace.fused) {
    search.fusion = {
      method: retrieval.fusion,
      weights: { sparse: retrieval.sparseWeight, dense: retrieval.denseWeight },
      ...(retrieval.fusion === 'rrf' ? { k: retrieval.rrfK } : {}),
    };
  }
  if (trace.degraded.length > 0) search.degraded = [...trace.degraded];
  return { search, hits: explainHits(trace.ranked, legs, trace.fused) };
}
