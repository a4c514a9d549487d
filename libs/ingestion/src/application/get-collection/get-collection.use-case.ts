import { Inject, Injectable } from '@nestjs/common';
import type { CollectionRef, CollectionView } from '#contracts';
import { CONFIG, type AppConfig } from '#platform';
import { DocumentJobsRepository } from '../../infrastructure/document-jobs.repository.js';
import { IngestionViewRepository } from '../../infrastructure/ingestion-views.repository.js';

@Injectable()
export class GetCollectionUseCase {
  constructor(
    private readonly views: IngestionViewRepository,
    private readonly jobs: DocumentJobsRepository,
    @Inject(CONFIG) private readonly config: AppConfig,
  ) {}

  /** The collection's counters, with its stall report (documents pending without progress for too long). */
  async execute(request: CollectionRef): Promise<CollectionView> {
    const afterMs = this.config.ingestion.stallAfterMs;
    const [view, stalls] = await Promise.all([
      this.views.collectionView(request.collection),
      this.jobs.stalls(afterMs, request.collection),
    ]);
    if (!stalls) return view;
    return {
      ...view,
      stalled: { documents: stalls.stalled, oldestPendingMs: stalls.oldestPendingMs, afterMs },
    };
  }
}
