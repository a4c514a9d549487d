import {
  type DynamicModule,
  Global,
  Inject,
  Injectable,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { APP_INTERCEPTOR, ModuleRef } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { ResilienceService } from '#platform';
import { type PoolCounts } from './metrics/database.metrics.js';
import { MetricsHttpController } from './metrics/metrics.http.controller.js';
import { Metrics } from './metrics/metrics.service.js';
import { MessageSpanInterceptor } from './tracing/message-span.interceptor.js';
import { Tracing } from './tracing/tracing.js';

/** Reads the gauges whose sources are the platform's own: breakers and bulkheads, the pg pool. */
@Injectable()
class PlatformCollectors implements OnModuleInit, OnApplicationShutdown {
  private readonly removals: (() => void)[] = [];

  constructor(
    @Inject(Metrics) private readonly metrics: Metrics,
    private readonly resilience: ResilienceService,
    private readonly modules: ModuleRef,
  ) {}

  onModuleInit(): void {
    this.removals.push(this.metrics.onScrape(() => this.metrics.transport.targets(this.resilience.status())));
    const pool = this.pool();
    if (pool) this.removals.push(this.metrics.onScrape(() => this.metrics.database.pool(pool)));
  }

  async onApplicationShutdown(): Promise<void> {
    for (const remove of this.removals) remove();
    // The spans of the last requests, before the process exits with them in its export buffer.
    await Tracing.flush().catch(() => undefined);
  }

  /** node-postgres's Pool behind TypeORM's driver (PGlite has none). */
  private pool(): PoolCounts | undefined {
    let source: DataSource | undefined;
    try {
      source = this.modules.get(DataSource, { strict: false });
    } catch {
      return undefined;
    }
    const master = (source?.driver as { master?: Partial<PoolCounts> } | undefined)?.master;
    return master && typeof master.totalCount === 'number' ? (master as PoolCounts) : undefined;
  }
}

/**
 * Metrics and traces for the whole process: the `Metrics` port every context reports through,
 * GET /metrics, and the consumer span and timing of every message handled.
 */
@Global()
@Module({})
export class ObservabilityModule {
  static forRoot(metrics: Metrics): DynamicModule {
    return {
      module: ObservabilityModule,
      controllers: [MetricsHttpController],
      providers: [
        { provide: Metrics, useValue: metrics },
        { provide: APP_INTERCEPTOR, useClass: MessageSpanInterceptor },
        PlatformCollectors,
      ],
      exports: [Metrics],
    };
  }
}
