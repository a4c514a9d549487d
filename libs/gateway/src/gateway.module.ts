import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { MulterModule } from '@nestjs/platform-express';
import { CONFIG, type AppConfig, renderErrorsUnder } from '#platform';
import { AnswerCacheInvalidator } from './application/answer-query/answer-cache.invalidator.js';
import { AnswerCache } from './application/answer-query/answer-cache.port.js';
import { MemoryAnswerCache } from './infrastructure/answer-cache/memory-answer.cache.js';
import { RedisAnswerCache } from './infrastructure/answer-cache/redis-answer.cache.js';
import { AnswerQueryUseCase } from './application/answer-query/answer-query.use-case.js';
import { CollectionsHttpController, MAX_FILES_PER_REQUEST } from './interface/collections.http.controller.js';
import { RagOperations } from './application/rag-operations/rag-operations.js';
import { openAiErrorBody } from './interface/openai/openai-error.js';
import { OpenAiHttpController } from './interface/openai/openai.http.controller.js';
import { McpHttpController } from './interface/mcp/mcp.http.controller.js';
import { JobsHttpController } from './interface/jobs.http.controller.js';
import { QueryHttpController } from './interface/query.http.controller.js';
import { RequestContextMiddleware } from './interface/request-context.middleware.js';
import { SearchHttpController } from './interface/search.http.controller.js';

/**
 * The API gateway owns the HTTP API and orchestrates the query path through the contexts' ports; it
 * caches whole answers (in Redis when there is one), kept current by the domain events of ingestion
 * (DomainEventsModule).
 */
@Module({
  imports: [
    MulterModule.registerAsync({
      inject: [CONFIG],
      useFactory: (c: AppConfig) => ({
        limits: { fileSize: c.http.uploadLimitBytes, files: MAX_FILES_PER_REQUEST },
      }),
    }),
  ],
  controllers: [
    CollectionsHttpController,
    JobsHttpController,
    SearchHttpController,
    QueryHttpController,
    McpHttpController,
    OpenAiHttpController,
  ],
  providers: [
    AnswerQueryUseCase,
    RagOperations,
    {
      provide: AnswerCache,
      inject: [CONFIG],
      // With Redis, one cache for every gateway replica; without, each process keeps its own.
      useFactory: (c: AppConfig) =>
        c.redisUrl
          ? new RedisAnswerCache({ ...c.answerCache, url: c.redisUrl, prefix: c.redisPrefix })
          : new MemoryAnswerCache(c.answerCache),
    },
    AnswerCacheInvalidator,
  ],
})
export class GatewayModule implements NestModule {
  constructor() {
    // The OpenAI-compatible API's clients read OpenAI's error shape, whatever raised the error.
    renderErrorsUnder('/v1/', openAiErrorBody);
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestContextMiddleware).forRoutes('*path');
  }
}
