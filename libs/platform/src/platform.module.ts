import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { ClientProxy } from '@nestjs/microservices';
import {
  ContextName,
  GENERATION_PORT,
  INGESTION_PORT,
  PRESENTATION_PORT,
  QUERY_UNDERSTANDING_PORT,
  RETRIEVAL_PORT,
} from '#contracts';
import { CONFIG, ConfigError, type AppConfig } from './config/app-config.js';
import { CONTEXT_CLIENTS, ContextCaller, type ContextClients } from './messaging/context-caller.js';
import { InProcessClient, InProcessServer } from './messaging/in-process.transport.js';
import {
  GenerationClient,
  IngestionClient,
  PresentationClient,
  QueryUnderstandingClient,
  RetrievalClient,
} from './messaging/port-clients.js';
import { ResilienceService } from './resilience/resilience.service.js';

export const IN_PROCESS_SERVER = Symbol('InProcessServer');

/**
 * Decides once, at start, how each context is reached: contexts hosted by this process answer through
 * the in-process transport; any other needs a remote transport. A context that is neither stops start-up.
 */
export function buildContextClients(config: AppConfig, server: InProcessServer): ContextClients {
  const local = new InProcessClient(server);
  const missing = Object.values(ContextName).filter(
    (c) => c !== ContextName.Gateway && !config.contexts.has(c),
  );
  if (missing.length > 0 && !config.redisUrl) {
    throw new ConfigError(
      `context(s) ${missing.join(', ')} are not hosted by this process (RAG_CONTEXTS) and REDIS_URL is unset, so they cannot be reached`,
    );
  }
  return {
    clientFor(context: ContextName): ClientProxy {
      if (config.contexts.has(context)) return local;
      throw new ConfigError(`context ${context} is not hosted here and no remote transport is configured`);
    },
  };
}

@Global()
@Module({})
export class PlatformModule {
  static forRoot(config: AppConfig, server: InProcessServer): DynamicModule {
    return {
      module: PlatformModule,
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: IN_PROCESS_SERVER, useValue: server },
        { provide: CONTEXT_CLIENTS, useValue: buildContextClients(config, server) },
        ResilienceService,
        ContextCaller,
        { provide: QUERY_UNDERSTANDING_PORT, useClass: QueryUnderstandingClient },
        { provide: RETRIEVAL_PORT, useClass: RetrievalClient },
        { provide: GENERATION_PORT, useClass: GenerationClient },
        { provide: PRESENTATION_PORT, useClass: PresentationClient },
        { provide: INGESTION_PORT, useClass: IngestionClient },
      ],
      exports: [
        CONFIG,
        IN_PROCESS_SERVER,
        ResilienceService,
        ContextCaller,
        QUERY_UNDERSTANDING_PORT,
        RETRIEVAL_PORT,
        GENERATION_PORT,
        PRESENTATION_PORT,
        INGESTION_PORT,
      ],
    };
  }
}
