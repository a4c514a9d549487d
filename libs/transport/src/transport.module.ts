import {
  type DynamicModule,
  Global,
  Inject,
  Injectable,
  Module,
  type OnApplicationShutdown,
} from '@nestjs/common';
import {
  ContextName,
  GENERATION_PORT,
  INGESTION_PORT,
  PRESENTATION_PORT,
  QUERY_UNDERSTANDING_PORT,
  RETRIEVAL_PORT,
} from '#contracts';
import { ConfigError, type AppConfig } from '#platform';
import { CONTEXT_CLIENTS, ContextCaller, type ContextClients } from './context-caller.js';
import { InProcessClient, InProcessServer } from './in-process.transport.js';
import {
  GenerationClient,
  IngestionClient,
  PresentationClient,
  QueryUnderstandingClient,
  RetrievalClient,
} from './port-clients.js';
import { RedisStreamsClient } from './redis-streams/redis-streams.client.js';
import type { RedisStreamsServer } from './redis-streams/redis-streams.server.js';

export const IN_PROCESS_SERVER = Symbol('InProcessServer');
/** The Redis Streams servers through which this process's contexts answer remote callers. */
export const REMOTE_SERVERS = Symbol('RemoteServers');

/**
 * Decides once, at start, how each context is reached: contexts hosted by this process answer through
 * the in-process transport; the others over Redis Streams. A context that is neither stops start-up.
 */
export function buildContextClients(config: AppConfig, server: InProcessServer): ContextClients {
  const local = new InProcessClient(server);
  const remote = Object.values(ContextName).filter(
    (c) => c !== ContextName.Gateway && !config.contexts.has(c),
  );
  if (remote.length > 0 && !config.redisUrl) {
    throw new ConfigError(
      `context(s) ${remote.join(', ')} are not hosted by this process (RAG_CONTEXTS) and REDIS_URL is unset, so they cannot be reached`,
    );
  }
  const redis =
    remote.length > 0
      ? new RedisStreamsClient({ url: config.redisUrl!, prefix: config.redisPrefix })
      : undefined;
  return {
    clientFor: (context) => (config.contexts.has(context) ? local : redis!),
    async remoteReplicas() {
      const entries = await Promise.all(remote.map(async (c) => [c, await redis!.liveReplicas(c)] as const));
      return Object.fromEntries(entries);
    },
    async close() {
      await redis?.close();
    },
  };
}

@Injectable()
class ContextClientsCloser implements OnApplicationShutdown {
  constructor(@Inject(CONTEXT_CLIENTS) private readonly clients: ContextClients) {}
  async onApplicationShutdown(): Promise<void> {
    await this.clients.close();
  }
}

/**
 * How this process's contexts are reached (buildContextClients), the caller every cross-context call
 * goes through, and the ports of #contracts bound to it. Global; needs the platform's CONFIG and
 * ResilienceService (PlatformModule).
 */
@Global()
@Module({})
export class TransportModule {
  static forRoot(
    config: AppConfig,
    server: InProcessServer,
    remoteServers: RedisStreamsServer[] = [],
  ): DynamicModule {
    return {
      module: TransportModule,
      providers: [
        { provide: IN_PROCESS_SERVER, useValue: server },
        { provide: REMOTE_SERVERS, useValue: remoteServers },
        { provide: CONTEXT_CLIENTS, useValue: buildContextClients(config, server) },
        ContextClientsCloser,
        ContextCaller,
        { provide: QUERY_UNDERSTANDING_PORT, useClass: QueryUnderstandingClient },
        { provide: RETRIEVAL_PORT, useClass: RetrievalClient },
        { provide: GENERATION_PORT, useClass: GenerationClient },
        { provide: PRESENTATION_PORT, useClass: PresentationClient },
        { provide: INGESTION_PORT, useClass: IngestionClient },
      ],
      exports: [
        IN_PROCESS_SERVER,
        REMOTE_SERVERS,
        CONTEXT_CLIENTS,
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
