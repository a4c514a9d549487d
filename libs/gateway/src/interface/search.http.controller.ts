import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { RETRIEVAL_PORT, SearchBody, type RetrievalPort, type SearchResponse } from '#contracts';
import { RateLimit, ZodValidationPipe } from '#platform';
import { searchRetrieval } from '../application/search/search-retrieval.js';

@RateLimit('search')
@Controller('rag')
export class SearchHttpController {
  constructor(@Inject(RETRIEVAL_PORT) private readonly retrieval: RetrievalPort) {}

  @Post('search')
  @HttpCode(200)
  search(@Body(new ZodValidationPipe(SearchBody)) body: SearchBody): Promise<SearchResponse> {
    return searchRetrieval(this.retrieval, body);
  }
}
