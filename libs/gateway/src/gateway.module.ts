import { type DynamicModule, type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { MulterModule } from '@nestjs/platform-express';
import { TerminusModule } from '@nestjs/terminus';
import { ContextName } from '#contracts';
import { CONFIG, type AppConfig, DatabaseModule } from '#platform';
import { AnswerQueryHandler } from './application/answer-query/answer-query.query-handler.js';
import { CollectionsHttpController, MAX_FILES_PER_REQUEST } from './interface/collections.http.controller.js';
import { HealthHttpController } from './interface/health.http.controller.js';
import { QueryHttpController } from './interface/query.http.controller.js';
import { RequestContextMiddleware } from './interface/request-context.middleware.js';
import { SearchHttpController } from './interface/search.http.controller.js';

/** The API gateway owns the HTTP API and orchestrates the query path through the contexts' ports. */
@Module({})
export class GatewayModule implements NestModule {
  static forRoot(config: AppConfig): DynamicModule {
    // Readiness checks the database only where this process keeps state.
    const stateful = config.contexts.has(ContextName.Ingestion) || config.contexts.has(ContextName.Retrieval);
    return {
      module: GatewayModule,
      imports: [
        TerminusModule.forRoot({ logger: false }),
        MulterModule.registerAsync({
          inject: [CONFIG],
          useFactory: (c: AppConfig) => ({
            limits: { fileSize: c.http.uploadLimitBytes, files: MAX_FILES_PER_REQUEST },
          }),
        }),
        ...(stateful ? [DatabaseModule] : []),
      ],
      controllers: [
        CollectionsHttpController,
        SearchHttpController,
        QueryHttpController,
        HealthHttpController,
      ],
      providers: [AnswerQueryHandler],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestContextMiddleware).forRoutes('*path');
  }
}
