import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  CollectionRef,
  DocumentRef,
  IngestRequest,
  JobRef,
  ListCollectionsRequest,
  ListDocumentsRequest,
  Pattern,
  type CollectionList,
  type CollectionView,
  type DocumentPage,
  type DocumentView,
  type IngestResponse,
  type JobView,
  type ReindexResponse,
  type RetriedDocument,
} from '#contracts';
import { ZodValidationPipe } from '#platform';
import { DeleteCollectionUseCase } from '../application/delete-collection/delete-collection.use-case.js';
import { DeleteDocumentUseCase } from '../application/delete-document/delete-document.use-case.js';
import { GetCollectionUseCase } from '../application/get-collection/get-collection.use-case.js';
import { GetDocumentUseCase } from '../application/get-document/get-document.use-case.js';
import { GetJobUseCase } from '../application/get-job/get-job.use-case.js';
import { IngestDocumentsUseCase } from '../application/ingest-documents/ingest-documents.use-case.js';
import { ListCollectionsUseCase } from '../application/list-collections/list-collections.use-case.js';
import { ListDocumentsUseCase } from '../application/list-documents/list-documents.use-case.js';
import { ReindexCollectionUseCase } from '../application/reindex-collection/reindex-collection.use-case.js';
import { RetryDocumentUseCase } from '../application/retry-document/retry-document.use-case.js';

@Controller()
export class IngestionMessageController {
  constructor(
    private readonly ingest: IngestDocumentsUseCase,
    private readonly getCollection: GetCollectionUseCase,
    private readonly getDocument: GetDocumentUseCase,
    private readonly deleteDocument: DeleteDocumentUseCase,
    private readonly listDocuments: ListDocumentsUseCase,
    private readonly retryDocument: RetryDocumentUseCase,
    private readonly getJob: GetJobUseCase,
    private readonly reindexCollection: ReindexCollectionUseCase,
    private readonly listCollections: ListCollectionsUseCase,
    private readonly deleteCollection: DeleteCollectionUseCase,
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

  @MessagePattern(Pattern.IngestionListCollections)
  onListCollections(
    @Payload(new ZodValidationPipe(ListCollectionsRequest, 'list collections request')) _request: object,
  ): Promise<CollectionList> {
    return this.listCollections.execute();
  }

  @MessagePattern(Pattern.IngestionDeleteCollection)
  onDeleteCollection(
    @Payload(new ZodValidationPipe(CollectionRef, 'collection reference')) request: CollectionRef,
  ): Promise<{ deleted: true }> {
    return this.deleteCollection.execute(request);
  }
}
