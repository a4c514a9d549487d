import { Controller, Get, Inject, Optional } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  type HealthIndicatorResult,
} from '@nestjs/terminus';
import { DataSource } from 'typeorm';
import { ContextName, Pattern } from '#contracts';
import { CONTEXT_CLIENTS, type ContextClients, REMOTE_SERVERS } from '#transport';
import type { RedisStreamsServer } from '#transport';
import { ResilienceService, READINESS_REPORT, type ReadinessReport, CONFIG, type AppConfig } from '#platform';
import { ShutdownState } from './graceful-shutdown.js';
import { RedisEvictionPolicy } from './redis-eviction-policy.js';

/** Remote contexts without which no request can be served: their absence makes this process unready. */
const ESSENTIAL: ContextName[] = [ContextName.Retrieval, ContextName.Ingestion];

/**
 * Targets whose open circuit makes this process unready. Search is the one stage of a query with no
 * fallback: while its circuit is open every query fails, so a load balancer should send traffic to a
 * replica whose circuit is closed. The other stages fall back (extractive answer, fused order, the
 * question as asked, unformatted answer) and are named in `degraded`: their circuits are only reported.
 */
const ESSENTIAL_TARGETS: string[] = [Pattern.RetrievalSearch];

/**
 * Liveness says the process runs; readiness says it can serve: it is not shutting down, its database
 * answers, the essential contexts have a live replica and search's circuit is closed. Every target's
 * circuit state and bulkhead load (calls executing and queued) is reported either way.
 */
@Controller('health')
export class HealthHttpController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly resilience: ResilienceService,
    private readonly shutdown: ShutdownState,
    @Inject(CONTEXT_CLIENTS) private readonly clients: ContextClients,
    @Inject(REMOTE_SERVERS) private readonly servers: RedisStreamsServer[],
    private readonly modules: ModuleRef,
    private readonly evictionPolicy: RedisEvictionPolicy,
    @Inject(CONFIG) private readonly config: AppConfig,
    @Optional() @Inject(DataSource) private readonly db?: DataSource,
  ) {}

  /**
   * Remote contexts seen with a live replica since start. Where the gateway is hosted, readiness stays
   * red until every context it calls has been seen once: a deployment started all at once does not take
   * traffic it would answer degraded only because its stages are still booting. After that, only the
   * essential contexts' absence makes it unready (the others have fallbacks).
   */
  private readonly seen = new Set<string>();

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
    const checks: (() => Promise<HealthIndicatorResult>)[] = [
      async () => {
        const indicator = this.indicators.check('shutdown');
        return this.shutdown.stopping ? indicator.down({ signal: this.shutdown.reason }) : indicator.up();
      },
    ];
    if (this.db) checks.push(() => this.database());
    checks.push(async () => {
      const targets = this.resilience.status();
      // Only a circuit failing fast blocks: a half-open one needs traffic to close.
      const open = ESSENTIAL_TARGETS.filter((t) => targets[t]?.state === 'Open');
      const indicator = this.indicators.check('circuits');
      return open.length === 0 ? indicator.up({ targets }) : indicator.down({ targets, open });
    });
    checks.push(() => this.remoteContexts());
    if (this.evictionPolicy.enabled) checks.push(() => this.redis());
    const report = this.readinessReport();
    if (report) checks.push(() => this.reported(report));
    return this.health.check(checks);
  }

  /** The hosted context's report (ingestion's stall report), if this process hosts one. */
  private readinessReport(): ReadinessReport | undefined {
    try {
      return this.modules.get<ReadinessReport>(READINESS_REPORT, { strict: false });
    } catch {
      return undefined;
    }
  }

  /** Always up: a report informs, and a failure to make it is itself only reported. */
  private async reported(report: ReadinessReport): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(report.name);
    try {
      return indicator.up(await report.report());
    } catch (error) {
      return indicator.up({ message: `no report: ${(error as Error).message}` });
    }
  }

  private async remoteContexts(): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check('contexts');
    try {
      const replicas = await this.clients.remoteReplicas();
      for (const [context, live] of Object.entries(replicas)) if (live.length > 0) this.seen.add(context);
      const missing = ESSENTIAL.filter((c) => replicas[c]?.length === 0);
      const booting = this.config.contexts.has(ContextName.Gateway)
        ? Object.keys(replicas).filter((c) => !this.seen.has(c))
        : [];
      if (missing.length === 0 && booting.length === 0) return indicator.up({ replicas });
      return indicator.down({ replicas, missing: [...new Set([...missing, ...booting])] });
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }

  /** Reported, never red: see RedisEvictionPolicy for why. */
  private async redis(): Promise<HealthIndicatorResult> {
    return this.indicators.check('redis').up({ ...(await this.evictionPolicy.report()) });
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
