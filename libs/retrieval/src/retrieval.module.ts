import { Module } from '@nestjs/common';
import { CONFIG, type AppConfig, DatabaseModule } from '#platform';
import { EmbeddingsModule } from '#embeddings';
import { englishAnalyzer } from '#text-analysis';
import { LexicalIndex } from '#search-index';
import { CollectionStatsInvalidator } from './application/search-chunks/collection-stats.invalidator.js';
import { RerankHitsUseCase } from './application/rerank-hits/rerank-hits.use-case.js';
import { SearchChunksUseCase } from './application/search-chunks/search-chunks.use-case.js';
import { MmrReranker } from './domain/mmr.reranker.js';
import { RERANKER, type Reranker } from './domain/reranker.js';
import { ChunkSearchRepository } from './infrastructure/chunk-search.repository.js';
import { CrossEncoderReranker } from './infrastructure/cross-encoder.reranker.js';
import { RetrievalMessageController } from './interface/retrieval.message.controller.js';

export function createReranker(config: AppConfig['rerank']): Reranker {
  if (config.provider === 'mmr') return new MmrReranker(englishAnalyzer);
  return new CrossEncoderReranker({
    dialect: config.provider,
    baseUrl: config.baseUrl!,
    model: config.model,
    apiKey: config.apiKey,
    timeoutMs: config.timeoutMs,
    maxDocuments: config.maxDocuments,
  });
}

/** Retrieval owns the read side of the index: dense, sparse (BM25), fusion and re-ranking. */
@Module({
  imports: [DatabaseModule, EmbeddingsModule],
  controllers: [RetrievalMessageController],
  providers: [
    ChunkSearchRepository,
    LexicalIndex,
    SearchChunksUseCase,
    RerankHitsUseCase,
    CollectionStatsInvalidator,
    { provide: RERANKER, inject: [CONFIG], useFactory: (config: AppConfig) => createReranker(config.rerank) },
  ],
})
export class RetrievalModule {}
