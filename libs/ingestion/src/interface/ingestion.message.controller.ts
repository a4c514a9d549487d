import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  CollectionRef,
  DocumentRef,
  IngestRequest,
  Pattern,
  type CollectionView,
  type DocumentView,
  type IngestResponse,
} from '#contracts';
import { ZodValidationPipe } from '#platform';
import { DeleteDocumentHandler } from '../application/delete-document/delete-document.command-handler.js';
import { GetCollectionHandler } from '../application/get-collection/get-collection.query-handler.js';
import { GetDocumentHandler } from '../application/get-document/get-document.query-handler.js';
import { IngestDocumentsHandler } from '../application/ingest-documents/ingest-documents.command-handler.js';

@Controller()
export class IngestionMessageController {
  constructor(
    private readonly ingest: IngestDocumentsHandler,
    private readonly getCollection: GetCollectionHandler,
    private readonly getDocument: GetDocumentHandler,
    private readonly deleteDocument: DeleteDocumentHandler,
  ) {}

  @MessagePattern(Pattern.IngestionIngest)
  onIngest(
    @Payload(new ZodValidationPipe(IngestRequest, 'ingest request')) request: IngestRequest,
  ): Promise<IngestResponse> {
    return this.ingest.execute(request);
  }

  @MessagePattern(Pattern.IngestionGetCollection)
  onGetCollection(
    @Payload(new ZodValidationPipe(CollectionRef, 'collection reference')) request: CollectionRef,
  ): Promise<CollectionView> {
    return this.getCollection.execute(request);
  }

  @MessagePattern(Pattern.IngestionGetDocument)
  onGetDocument(
    @Payload(new ZodValidationPipe(DocumentRef, 'document reference')) request: DocumentRef,
  ): Promise<DocumentView> {
    return this.getDocument.execute(request);
  }

  @MessagePattern(Pattern.IngestionDeleteDocument)
  onDeleteDocument(
    @Payload(new ZodValidationPipe(DocumentRef, 'document reference')) request: DocumentRef,
  ): Promise<{ deleted: true }> {
    return this.deleteDocument.execute(request);
  }
}
