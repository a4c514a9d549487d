import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Pattern, RerankRequest, SearchRequest, type RerankResponse, type SearchResponse } from '#contracts';
import { ZodValidationPipe } from '#platform';
import { RerankHitsHandler } from '../application/rerank-hits/rerank-hits.command-handler.js';
import { SearchChunksHandler } from '../application/search-chunks/search-chunks.query-handler.js';

@Controller()
export class RetrievalMessageController {
  constructor(
    private readonly search: SearchChunksHandler,
    private readonly rerank: RerankHitsHandler,
  ) {}

  @MessagePattern(Pattern.RetrievalSearch)
  onSearch(
    @Payload(new ZodValidationPipe(SearchRequest, 'search request')) request: SearchRequest,
  ): Promise<SearchResponse> {
    return this.search.execute(request);
  }

  @MessagePattern(Pattern.RetrievalRerank)
  onRerank(
    @Payload(new ZodValidationPipe(RerankRequest, 'rerank request')) request: RerankRequest,
  ): Promise<RerankResponse> {
    return this.rerank.execute(request);
  }
}
