import { Injectable } from '@nestjs/common';
import type { DocumentRef, DocumentView } from '#contracts';
import { IngestionViewRepository } from '../../infrastructure/ingestion-views.repository.js';

@Injectable()
export class GetDocumentUseCase {
  constructor(private readonly views: IngestionViewRepository) {}

  execute(request: DocumentRef): Promise<DocumentView> {
    return this.views.documentView(request.collection, request.id);
  }
}
