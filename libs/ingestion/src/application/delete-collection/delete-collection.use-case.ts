import { Injectable } from '@nestjs/common';
import { EventBus } from '@nestjs/cqrs';
import { AppError, CollectionDeleted, type CollectionRef } from '#contracts';
import { COLLECTION_NOT_FOUND } from '../../domain/ingestion.errors.js';
import { CollectionDeletionRepository } from '../../infrastructure/collection-deletion.repository.js';

/** Removes a collection with everything indexed from it; the answer caches forget it (CollectionDeleted). */
@Injectable()
export class DeleteCollectionUseCase {
  constructor(
    private readonly deletion: CollectionDeletionRepository,
    private readonly events: EventBus,
  ) {}

  async execute(request: CollectionRef): Promise<{ deleted: true }> {
    if (!(await this.deletion.deleteCollection(request.collection)))
      throw new AppError(COLLECTION_NOT_FOUND, `collection "${request.collection}" does not exist`);
    this.events.publish(new CollectionDeleted(request.collection));
    return { deleted: true };
  }
}
