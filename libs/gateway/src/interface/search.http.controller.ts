import { Body, Controller, HttpCode, Inject, Post, Req } from '@nestjs/common';
import type { Request } from 'express';
import { RETRIEVAL_PORT, SearchBody, type RetrievalPort, type SearchResponse } from '#contracts';
import { RateLimit, ZodValidationPipe } from '#platform';
import { searchRetrieval } from '../application/search/search-retrieval.js';
import { assertRead } from './access.js';

@RateLimit('search')
@Controller('rag')
export class SearchHttpController {
  constructor(@Inject(RETRIEVAL_PORT) private readonly retrieval: RetrievalPort) {}

  @Post('search')
  @HttpCode(200)
  search(
    @Req() req: Request,
    @Body(new ZodValidationPipe(SearchBody)) body: SearchBody,
  ): Promise<SearchResponse> {
    assertRead(req, body.collection);
    return searchRetrieval(this.retrieval, body);
  }
}
