import { Injectable } from '@nestjs/common';
import type { CollectionList } from '#contracts';
import { IngestionViewRepository } from '../../infrastructure/ingestion-views.repository.js';

/** Every collection with its document counts: what an agent or a chat UI picks a collection from. */
@Injectable()
export class ListCollectionsUseCase {
  constructor(private readonly views: IngestionViewRepository) {}

  async execute(): Promise<CollectionList> {
    return { collections: await this.views.collectionSummaries() };
  }
}
