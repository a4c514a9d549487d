import { Injectable } from '@nestjs/common';
import type { CollectionList } from '#contracts';
import { IngestionViewRepository } from '../../infrastructure/ingestion-views.repository.js';

/** Every collection by name with its counts; the gateway narrows the list to what a caller may read. */
@Injectable()
export class ListCollectionsUseCase {
  constructor(private readonly views: IngestionViewRepository) {}

  async execute(): Promise<CollectionList> {
    return { collections: await this.views.collectionList() };
  }
}
