import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Pattern, RerankRequest, SearchRequest, type RerankResponse, type SearchResponse } from '#contracts';
import { ZodValidationPipe } from '#platform';
import { RerankHitsUseCase } from '../application/rerank-hits/rerank-hits.use-case.js';
import { SearchChunksUseCase } from '../application/search-chunks/search-chunks.use-case.js';

@Controller()
export class RetrievalMessageController {
  constructor(
    private readonly search: SearchChunksUseCase,
    private readonly rerank: RerankHitsUseCase,
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
