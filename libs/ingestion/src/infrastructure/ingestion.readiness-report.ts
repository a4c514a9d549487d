import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type AppConfig, type ReadinessReport } from '#platform';
import { DocumentJobsRepository } from './document-jobs.repository.js';

export const INGESTION_INDICATOR = 'ingestion';

/**
 * Ingestion's detail in /health/ready: documents pending without progress for longer than
 * INGESTION_STALL_AFTER_MS, over every collection. It does not make readiness fail: a stall is not
 * cured by taking a replica out of the load balancer, every replica shares the database and would go
 * unready at once, and search would go down with them. Monitoring should alert on `stalled` instead.
 */
@Injectable()
export class IngestionReadinessReport implements ReadinessReport {
  readonly name = INGESTION_INDICATOR;

  constructor(
    private readonly jobs: DocumentJobsRepository,
    @Inject(CONFIG) private readonly config: AppConfig,
  ) {}

  async report(): Promise<Record<string, unknown>> {
    const afterMs = this.config.ingestion.stallAfterMs;
    const stalls = (await this.jobs.stalls(afterMs))!;
    return {
      stalled: stalls.stalled,
      oldestPendingMs: stalls.oldestPendingMs,
      stallAfterMs: afterMs,
      ...(stalls.stalled > 0
        ? { warning: `${stalls.stalled} document(s) pending with no progress for over ${afterMs} ms` }
        : {}),
    };
  }
}
