import { Inject, Injectable } from '@nestjs/common';
import type { CollectionRef, ReindexResponse } from '#contracts';
import { EMBEDDERS, type EmbedderRegistry } from '#embeddings';
import { CollectionRepository } from '../../infrastructure/collection.repository.js';
import { EmbeddingSetRepository } from '../../infrastructure/embedding-set.repository.js';
import { INGESTION_QUEUE, type IngestionQueue } from '../ingestion-queue.port.js';

/**
 * Moves a collection to the configured embedder: a new embedding set is filled beside the active one
 * (search keeps using the active one) and switched to once complete. Asking again while it runs, or
 * after it failed, resumes it; a collection already on the configured model has nothing to do.
 */
@Injectable()
export class ReindexCollectionUseCase {
  constructor(
    private readonly collections: CollectionRepository,
    private readonly sets: EmbeddingSetRepository,
    @Inject(EMBEDDERS) private readonly embedders: EmbedderRegistry,
    @Inject(INGESTION_QUEUE) private readonly queue: IngestionQueue,
  ) {}

  async execute(request: CollectionRef): Promise<ReindexResponse> {
    const collection = await this.collections.requireCollection(request.collection);
    const { model, dimensions } = this.embedders.configured;
    const set = await this.sets.startReindex(collection, model, dimensions);
    if (set) await this.queue.reindex(set.id);
    return { collection: collection.name, status: set ? 'reindexing' : 'current', model, dimensions };
  }
}
