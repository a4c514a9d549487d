import type { SearchHit } from '#contracts';
import type { Analyzer } from '#text-analysis';
import { maximalMarginalRelevance } from './mmr.js';
import type { Reranker } from './reranker.js';

/**
 * The default reranker: lexical MMR over the fused candidates, so near-duplicate chunks do not crowd the
 * generator's context. It needs no model; the hits keep their fused scores, since MMR's trade-off values
 * only rank within one selection and mean nothing to a client.
 */
export class MmrReranker implements Reranker {
  readonly name = 'mmr';

  constructor(private readonly analyzer: Analyzer) {}

  async rerank(_query: string, hits: readonly SearchHit[], topK: number): Promise<SearchHit[]> {
    const candidates = hits.map((hit) => ({
      item: hit,
      relevance: hit.score,
      terms: new Set(this.analyzer.terms(hit.text)),
    }));
    return maximalMarginalRelevance(candidates, topK);
  }
}
