import { Module } from '@nestjs/common';
import { type AppConfig, CONFIG, DatabaseModule, READINESS_REPORT } from '#platform';
import { Metrics } from '#observability';
import { EmbeddingsModule } from '#embeddings';
import { LexicalIndex } from '#search-index';
import { DeleteCollectionUseCase } from './application/delete-collection/delete-collection.use-case.js';
import { ListCollectionsUseCase } from './application/list-collections/list-collections.use-case.js';
import { DeleteDocumentUseCase } from './application/delete-document/delete-document.use-case.js';
import { GetCollectionUseCase } from './application/get-collection/get-collection.use-case.js';
import { GetDocumentUseCase } from './application/get-document/get-document.use-case.js';
import { GetJobUseCase } from './application/get-job/get-job.use-case.js';
import { IndexDocumentsUseCase } from './application/index-documents/index-documents.use-case.js';
import { IngestDocumentsUseCase } from './application/ingest-documents/ingest-documents.use-case.js';
import { UrlSourceReader } from './application/index-documents/url-source.reader.js';
import { ListDocumentsUseCase } from './application/list-documents/list-documents.use-case.js';
import { ReindexCollectionUseCase } from './application/reindex-collection/reindex-collection.use-case.js';
import { ReindexRunner } from './application/reindex-collection/reindex-runner.js';
import { RetryDocumentUseCase } from './application/retry-document/retry-document.use-case.js';
import { CollectionDeletionRepository } from './infrastructure/collection-deletion.repository.js';
import { JobIdSigner } from './infrastructure/job-id.signer.js';
import { DocumentJobsRepository } from './infrastructure/document-jobs.repository.js';
import { ChunkRepository } from './infrastructure/chunk.repository.js';
import { CollectionRepository } from './infrastructure/collection.repository.js';
import { DocumentVersionRepository } from './infrastructure/document-version.repository.js';
import { IngestionViewRepository } from './infrastructure/ingestion-views.repository.js';
import { JobStateRepository } from './infrastructure/job-state.repository.js';
import { EmbeddingSetRepository } from './infrastructure/embedding-set.repository.js';
import { IngestionReadinessReport } from './infrastructure/ingestion.readiness-report.js';
import { IndexMaintenance } from './infrastructure/queue/index-maintenance.js';
import { LexicalMaintenance } from './infrastructure/queue/lexical-maintenance.js';
import { INGESTION_QUEUE } from './application/ingestion-queue.port.js';
import { InProcessIngestionQueue } from './infrastructure/queue/in-process-ingestion.queue.js';
import { IngestionMessageController } from './interface/ingestion.message.controller.js';
import { UploadPartsRepository } from './infrastructure/uploads/upload-parts.repository.js';
import { StagedUploadSweeper } from './infrastructure/uploads/staged-upload.sweeper.js';

/** Ingestion owns collections, documents and the write side of the index (extract → chunk → embed → index). */
@Module({
  imports: [DatabaseModule, EmbeddingsModule],
  controllers: [IngestionMessageController],
  providers: [
    CollectionRepository,
    DocumentVersionRepository,
    JobStateRepository,
    ChunkRepository,
    IngestionViewRepository,
    DocumentJobsRepository,
    EmbeddingSetRepository,
    IngestionReadinessReport,
    { provide: READINESS_REPORT, useExisting: IngestionReadinessReport },
    IndexMaintenance,
    LexicalIndex,
    LexicalMaintenance,
    ReindexRunner,
    ReindexCollectionUseCase,
    IngestDocumentsUseCase,
    IndexDocumentsUseCase,
    UrlSourceReader,
    GetCollectionUseCase,
    GetDocumentUseCase,
    DeleteDocumentUseCase,
    ListDocumentsUseCase,
    RetryDocumentUseCase,
    GetJobUseCase,
    CollectionDeletionRepository,
    DeleteCollectionUseCase,
    ListCollectionsUseCase,
    JobIdSigner,
    UploadPartsRepository,
    StagedUploadSweeper,
    {
      // BullMQ when Redis is configured (shared by every ingestion replica), else the in-process queue;
      // BullMQ is imported only then (4 MiB of heap the single binary without Redis never needs).
      provide: INGESTION_QUEUE,
      inject: [
        CONFIG,
        JobStateRepository,
        DocumentJobsRepository,
        IndexDocumentsUseCase,
        EmbeddingSetRepository,
        ReindexRunner,
        IndexMaintenance,
        { token: Metrics, optional: true },
      ],
      useFactory: async (
        config: AppConfig,
        repository: JobStateRepository,
        jobs: DocumentJobsRepository,
        handler: IndexDocumentsUseCase,
        sets: EmbeddingSetRepository,
        runner: ReindexRunner,
        maintenance: IndexMaintenance,
        metrics?: Metrics,
      ) => {
        if (!config.redisUrl)
          return new InProcessIngestionQueue(repository, handler, sets, runner, maintenance, config);
        const { BullMqIngestionQueue } = await import('./infrastructure/queue/bullmq-ingestion.queue.js');
        return new BullMqIngestionQueue(
          repository,
          jobs,
          handler,
          sets,
          runner,
          maintenance,
          config,
          metrics,
        );
      },
    },
  ],
  exports: [INGESTION_QUEUE],
})
export class IngestionModule {}
