import { Module } from '@nestjs/common';
import { DatabaseModule, EmbeddingsModule } from '#platform';
import { RerankHitsHandler } from './application/rerank-hits/rerank-hits.command-handler.js';
import { SearchChunksHandler } from './application/search-chunks/search-chunks.query-handler.js';
import { ChunkSearchRepository } from './infrastructure/chunk-search.repository.js';
import { RetrievalMessageController } from './interface/retrieval.message.controller.js';

/** Retrieval owns the read side of the index: dense, sparse (BM25), fusion and re-ranking. */
@Module({
  imports: [DatabaseModule, EmbeddingsModule],
  controllers: [RetrievalMessageController],
  providers: [ChunkSearchRepository, SearchChunksHandler, RerankHitsHandler],
})
export class RetrievalModule {}
