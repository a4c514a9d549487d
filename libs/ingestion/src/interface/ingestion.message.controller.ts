import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  CollectionRef,
  DocumentRef,
  IngestRequest,
  JobRef,
  ListDocumentsRequest,
  Pattern,
  type CollectionView,
  type DocumentPage,
  type DocumentView,
  type IngestResponse,
  type JobView,
  type ReindexResponse,
  type RetriedDocument,
} from '#contracts';
import { ZodValidationPipe } from '#platform';
import { DeleteDocumentHandler } from '../application/delete-document/delete-document.command-handler.js';
import { GetCollectionHandler } from '../application/get-collection/get-collection.query-handler.js';
import { GetDocumentHandler } from '../application/get-document/get-document.query-handler.js';
import { GetJobHandler } from '../application/get-job/get-job.query-handler.js';
import { IngestDocumentsHandler } from '../application/ingest-documents/ingest-documents.command-handler.js';
import { ListDocumentsHandler } from '../application/list-documents/list-documents.query-handler.js';
import { ReindexCollectionHandler } from '../application/reindex-collection/reindex-collection.command-handler.js';
import { RetryDocumentHandler } from '../application/retry-document/retry-document.command-handler.js';

@Controller()
export class IngestionMessageController {
  constructor(
    private readonly ingest: IngestDocumentsHandler,
    private readonly getCollection: GetCollectionHandler,
    private readonly getDocument: GetDocumentHandler,
    private readonly deleteDocument: DeleteDocumentHandler,
    private readonly listDocuments: ListDocumentsHandler,
    private readonly retryDocument: RetryDocumentHandler,
    private readonly getJob: GetJobHandler,
    private readonly reindexCollection: ReindexCollectionHandler,
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

  @MessagePattern(Pattern.IngestionListDocuments)
  onListDocuments(
    @Payload(new ZodValidationPipe(ListDocumentsRequest, 'list documents request'))
    request: ListDocumentsRequest,
  ): Promise<DocumentPage> {
    return this.listDocuments.execute(request);
  }

  @MessagePattern(Pattern.IngestionRetryDocument)
  onRetryDocument(
    @Payload(new ZodValidationPipe(DocumentRef, 'document reference')) request: DocumentRef,
  ): Promise<RetriedDocument> {
    return this.retryDocument.execute(request);
  }

  @MessagePattern(Pattern.IngestionGetJob)
  onGetJob(@Payload(new ZodValidationPipe(JobRef, 'job reference')) request: JobRef): Promise<JobView> {
    return this.getJob.execute(request);
  }

  @MessagePattern(Pattern.IngestionReindex)
  onReindex(
    @Payload(new ZodValidationPipe(CollectionRef, 'collection reference')) request: CollectionRef,
  ): Promise<ReindexResponse> {
    return this.reindexCollection.execute(request);
  }
}
