import { Controller, Get, Inject, Optional } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  type HealthIndicatorResult,
} from '@nestjs/terminus';
import { DataSource } from 'typeorm';
import { ContextName } from '#contracts';
import { CONTEXT_CLIENTS, type ContextClients } from '../messaging/context-caller.js';
import type { RedisStreamsServer } from '../messaging/redis-streams/redis-streams.server.js';
import { REMOTE_SERVERS } from '../platform.module.js';
import { ResilienceService } from '../resilience/resilience.service.js';

/** Remote contexts without which no request can be served: their absence makes this process unready. */
const ESSENTIAL: ContextName[] = [ContextName.Retrieval, ContextName.Ingestion];

/** Liveness says the process runs; readiness says it can serve: its database answers, no circuit is open. */
@Controller('health')
export class HealthHttpController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly resilience: ResilienceService,
    @Inject(CONTEXT_CLIENTS) private readonly clients: ContextClients,
    @Inject(REMOTE_SERVERS) private readonly servers: RedisStreamsServer[],
    @Optional() @Inject(DataSource) private readonly db?: DataSource,
  ) {}

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([
      async () => this.indicators.check('process').up({ pid: process.pid }),
      // What this replica has served over the transport, per pattern.
      async () =>
        this.indicators.check('transport').up({
          replicas: Object.fromEntries(this.servers.map((s) => [s.consumer, Object.fromEntries(s.handled)])),
        }),
    ]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    const checks: (() => Promise<HealthIndicatorResult>)[] = [];
    if (this.db) checks.push(() => this.database());
    checks.push(async () => {
      const states = this.resilience.states();
      const open = Object.entries(states).filter(([, s]) => s !== 'Closed');
      const indicator = this.indicators.check('circuits');
      return open.length === 0 ? indicator.up({ states }) : indicator.down({ states });
    });
    checks.push(() => this.remoteContexts());
    return this.health.check(checks);
  }

  private async remoteContexts(): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check('contexts');
    try {
      const replicas = await this.clients.remoteReplicas();
      const missing = ESSENTIAL.filter((c) => replicas[c]?.length === 0);
      return missing.length === 0 ? indicator.up({ replicas }) : indicator.down({ replicas, missing });
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }

  private async database(): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check('database');
    try {
      await Promise.race([
        this.db!.query('SELECT 1'),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error('timed out after 2000 ms')), 2000).unref(),
        ),
      ]);
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }
}
