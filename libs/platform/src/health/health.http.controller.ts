import { Controller, Get, Inject, Optional } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  type HealthIndicatorResult,
} from '@nestjs/terminus';
import { DataSource } from 'typeorm';
import { ResilienceService } from '../resilience/resilience.service.js';

/** Liveness says the process runs; readiness says it can serve: its database answers, no circuit is open. */
@Controller('health')
export class HealthHttpController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly resilience: ResilienceService,
    @Optional() @Inject(DataSource) private readonly db?: DataSource,
  ) {}

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([async () => this.indicators.check('process').up({ pid: process.pid })]);
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
    return this.health.check(checks);
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
