import { type DynamicModule, Module, type Type } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ContextName } from '#contracts';
import { AppExceptionFilter, type AppConfig, PlatformModule } from '#platform';
import { Metrics, ObservabilityModule } from '#observability';
import {
  DomainEventsModule,
  type InProcessServer,
  type RedisStreamsServer,
  TransportModule,
} from '#transport';
import { GatewayModule } from '#gateway';
import { GenerationModule } from '#generation';
import { IngestionModule, UploadStagingModule } from '#ingestion';
import { PresentationModule } from '#presentation';
import { QueryUnderstandingModule } from '#query-understanding';
import { RetrievalModule } from '#retrieval';
import { HealthModule } from './health/health.module.js';

const CONTEXT_MODULES: Record<Exclude<ContextName, ContextName.Gateway>, Type> = {
  [ContextName.Ingestion]: IngestionModule,
  [ContextName.QueryUnderstanding]: QueryUnderstandingModule,
  [ContextName.Retrieval]: RetrievalModule,
  [ContextName.Generation]: GenerationModule,
  [ContextName.Presentation]: PresentationModule,
};

/**
 * The composition root: the platform, the transport, health and the domain events (every process, so that any context can
 * publish and any can react), plus each context this process hosts (RAG_CONTEXTS).
 */
@Module({})
export class AppModule {
  static forRoot(
    config: AppConfig,
    server: InProcessServer,
    remoteServers: RedisStreamsServer[] = [],
    metrics?: Metrics,
  ): DynamicModule {
    const contexts = Object.entries(CONTEXT_MODULES)
      .filter(([name]) => config.contexts.has(name as ContextName))
      .map(([, module]) => module);
    return {
      module: AppModule,
      imports: [
        PlatformModule.forRoot(config),
        TransportModule.forRoot(config, server, remoteServers),
        ObservabilityModule.forRoot(metrics ?? new Metrics()),
        DomainEventsModule,
        HealthModule.forRoot(config),
        // A gateway streams uploads into ingestion's staging store (UPLOAD_STAGING), wherever ingestion runs.
        ...(config.contexts.has(ContextName.Gateway) ? [GatewayModule, UploadStagingModule] : []),
        ...contexts,
      ],
      providers: [{ provide: APP_FILTER, useClass: AppExceptionFilter }],
    };
  }
}
