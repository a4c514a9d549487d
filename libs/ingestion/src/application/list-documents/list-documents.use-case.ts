import { Injectable } from '@nestjs/common';
import {
  decodeDocumentCursor,
  encodeDocumentCursor,
  type DocumentPage,
  type ListDocumentsRequest,
} from '#contracts';
import { CollectionRepository } from '../../infrastructure/collection.repository.js';
import { IngestionViewRepository } from '../../infrastructure/ingestion-views.repository.js';

/** Lists a collection's documents in external-id order, a page at a time, optionally of one status. */
@Injectable()
export class ListDocumentsUseCase {
  constructor(
    private readonly collections: CollectionRepository,
    private readonly views: IngestionViewRepository,
  ) {}

  async execute(request: ListDocumentsRequest): Promise<DocumentPage> {
    const collection = await this.collections.requireCollection(request.collection);
    // One row more than asked says whether another page follows, without counting.
    const rows = await this.views.listDocuments(
      collection.id,
      {
        status: request.status,
        after: request.cursor === undefined ? undefined : decodeDocumentCursor(request.cursor),
      },
      request.limit + 1,
    );
    const documents = rows.slice(0, request.limit);
    return {
      documents,
      nextCursor: rows.length > request.limit ? encodeDocumentCursor(documents.at(-1)!.id) : null,
    };
  }
}
