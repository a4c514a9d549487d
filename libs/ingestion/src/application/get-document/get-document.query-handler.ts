import { Injectable } from '@nestjs/common';
import type { DocumentRef, DocumentView } from '#contracts';
import { DocumentRepository } from '../../infrastructure/document.repository.js';

@Injectable()
export class GetDocumentHandler {
  constructor(private readonly repository: DocumentRepository) {}

  execute(request: DocumentRef): Promise<DocumentView> {
    return this.repository.documentView(request.collection, request.id);
  }
}
