import { Injectable } from '@nestjs/common';
import { EventBus } from '@nestjs/cqrs';
import { AppError, DocumentDeleted, type DocumentRef } from '#contracts';
import { DOCUMENT_NOT_FOUND } from '../../domain/ingestion.errors.js';
import { ChunkRepository } from '../../infrastructure/chunk.repository.js';
import { CollectionRepository } from '../../infrastructure/collection.repository.js';

/** Removes a document with its chunks, vectors and postings in one transaction. */
@Injectable()
export class DeleteDocumentUseCase {
  constructor(
    private readonly collections: CollectionRepository,
    private readonly chunks: ChunkRepository,
    private readonly events: EventBus,
  ) {}

  async execute(request: DocumentRef): Promise<{ deleted: true }> {
    await this.collections.requireCollection(request.collection);
    const deleted = await this.chunks.deleteDocument(request.collection, request.id);
    if (!deleted) {
      throw new AppError(
        DOCUMENT_NOT_FOUND,
        `document "${request.id}" does not exist in collection "${request.collection}"`,
      );
    }
    this.events.publish(new DocumentDeleted(request.collection, request.id));
    return { deleted: true };
  }
}
