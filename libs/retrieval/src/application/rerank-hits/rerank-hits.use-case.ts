import { Inject, Injectable } from '@nestjs/common';
import type { RerankRequest, RerankResponse } from '#contracts';
import { RequestContext } from '#platform';
import { RERANKER, type Reranker } from '../../domain/reranker.js';

/**
 * The re-ranking stage, by whichever reranker RERANK_PROVIDER chose (MMR by default). A failure is
 * thrown to the caller, whose fallback is the fused order.
 */
@Injectable()
export class RerankHitsUseCase {
  constructor(@Inject(RERANKER) private readonly reranker: Reranker) {}

  async execute(request: RerankRequest): Promise<RerankResponse> {
    // Past the caller's deadline nobody reads the answer: the model call is abandoned then.
    const remaining = RequestContext.remainingMs();
    const signal = Number.isFinite(remaining) ? AbortSignal.timeout(Math.max(1, remaining)) : undefined;
    return { results: await this.reranker.rerank(request.query, request.hits, request.topK, signal) };
  }
}
