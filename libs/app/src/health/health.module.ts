import { type DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ContextName } from '#contracts';
import type { AppConfig } from '#platform';
import { DatabaseModule } from '#platform';
import { ShutdownState } from './graceful-shutdown.js';
import { HealthHttpController } from './health.http.controller.js';
import { RedisEvictionPolicy } from './redis-eviction-policy.js';

/**
 * /health/live and /health/ready in every process, whatever it hosts, so each container has its probes.
 * Readiness checks the database only where this process keeps state, and fails once it is shutting down.
 */
@Module({})
export class HealthModule {
  static forRoot(config: AppConfig): DynamicModule {
    const stateful = config.contexts.has(ContextName.Ingestion) || config.contexts.has(ContextName.Retrieval);
    return {
      module: HealthModule,
      imports: [TerminusModule.forRoot({ logger: false }), ...(stateful ? [DatabaseModule] : [])],
      controllers: [HealthHttpController],
      providers: [ShutdownState, RedisEvictionPolicy],
      exports: [ShutdownState],
    };
  }
}
