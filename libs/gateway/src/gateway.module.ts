import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { MulterModule } from '@nestjs/platform-express';
import { APP_INTERCEPTOR } from '@nestjs/core';
import {
  CONFIG,
  type AppConfig,
  DatabaseModule,
  RateLimiter,
  RateLimitInterceptor,
  renderErrorsUnder,
} from '#platform';
import { ApiKeysService } from './application/api-keys/api-keys.service.js';
import { Authenticator } from './application/auth/authenticator.js';
import { ApiKeyRepository } from './infrastructure/api-keys/api-key.repository.js';
import { AuthMiddleware } from './interface/auth.middleware.js';
import { KeysHttpController } from './interface/keys.http.controller.js';
import { AnswerCacheInvalidator } from './application/answer-query/answer-cache.invalidator.js';
import { AnswerCache } from './application/answer-query/answer-cache.port.js';
import { MemoryAnswerCache } from './infrastructure/answer-cache/memory-answer.cache.js';
import { RedisAnswerCache } from './infrastructure/answer-cache/redis-answer.cache.js';
import { AnswerQueryUseCase } from './application/answer-query/answer-query.use-case.js';
import { CollectionsHttpController } from './interface/collections.http.controller.js';
import { multerOptions, UploadAdmission } from './interface/uploads.js';
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
 * (DomainEventsModule). It owns the API keys (in the database, hence DatabaseModule) and checks every
 * API request's key before anything else runs (AuthMiddleware).
 */
@Module({
  imports: [
    DatabaseModule,
    MulterModule.registerAsync({
      inject: [CONFIG],
      // Spooled to disk, within the per-file, per-request and field limits (uploads.ts).
      useFactory: multerOptions,
    }),
  ],
  controllers: [
    CollectionsHttpController,
    JobsHttpController,
    SearchHttpController,
    QueryHttpController,
    KeysHttpController,
    McpHttpController,
    OpenAiHttpController,
  ],
  providers: [
    ApiKeyRepository,
    ApiKeysService,
    Authenticator,
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
    // Per-key budgets for search, query and ingestion (@RateLimit on the controllers).
    RateLimiter,
    UploadAdmission,
    { provide: APP_INTERCEPTOR, useClass: RateLimitInterceptor },
  ],
})
export class GatewayModule implements NestModule {
  constructor() {
    // The OpenAI-compatible API's clients read OpenAI's error shape, whatever raised the error.
    renderErrorsUnder('/v1/', openAiErrorBody);
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestContextMiddleware).forRoutes('*path');
    // Every API surface, whichever module serves it; health, metrics, docs and the playground stay open.
    consumer.apply(AuthMiddleware).forRoutes('rag', 'rag/*path', 'v1', 'v1/*path', 'mcp', 'mcp/*path');
  }
}
