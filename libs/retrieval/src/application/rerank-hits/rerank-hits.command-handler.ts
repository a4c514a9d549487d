import { Injectable } from '@nestjs/common';
import type { RerankRequest, RerankResponse } from '#contracts';
import { englishAnalyzer } from '#platform';
import { maximalMarginalRelevance } from '../../domain/mmr.js';

/** The default re-ranking stage: lexical MMR over the fused candidates (no model needed). */
@Injectable()
export class RerankHitsHandler {
  execute(request: RerankRequest): RerankResponse {
    const candidates = request.hits.map((hit) => ({
      item: hit,
      relevance: hit.score,
      terms: new Set(englishAnalyzer.terms(hit.text)),
    }));
    return { results: maximalMarginalRelevance(candidates, request.topK) };
  }
}
