import { Inject, Injectable } from '@nestjs/common';
import { AppError, type DocumentRef, type RetriedDocument } from '#contracts';
import { EMBEDDERS, type EmbedderRegistry } from '#embeddings';
import { DOCUMENT_NOT_FOUND, NOT_FAILED } from '../../domain/ingestion.errors.js';
import { assertEmbeddable, CollectionRepository } from '../../infrastructure/collection.repository.js';
import { DocumentVersionRepository } from '../../infrastructure/document-version.repository.js';
import { JobIdSigner } from '../../infrastructure/job-id.signer.js';
import { INGESTION_QUEUE, type IngestionQueue } from '../ingestion-queue.port.js';

/**
 * Gives a failed document another go: it becomes a new queued version of the same content, and is
 * queued like any new version. Only a failed document can be retried; any other is already on its way.
 */
@Injectable()
export class RetryDocumentUseCase {
  constructor(
    private readonly collections: CollectionRepository,
    private readonly versions: DocumentVersionRepository,
    @Inject(EMBEDDERS) private readonly embedders: EmbedderRegistry,
    @Inject(INGESTION_QUEUE) private readonly queue: IngestionQueue,
    private readonly jobIds: JobIdSigner,
  ) {}

  async execute(request: DocumentRef): Promise<RetriedDocument> {
    const collection = await this.collections.requireCollection(request.collection);
    assertEmbeddable(collection, this.embedders);
    const job = await this.versions.requeueFailed(collection.id, request.id);
    if (!job) {
      const status = await this.versions.documentStatus(collection.id, request.id);
      if (status === null) {
        throw new AppError(
          DOCUMENT_NOT_FOUND,
          `document "${request.id}" does not exist in collection "${request.collection}"`,
        );
      }
      throw new AppError(
        NOT_FAILED,
        `document "${request.id}" is ${status}: only a failed document can be retried`,
        { status },
      );
    }
    await this.queue.enqueue([job]);
    return { id: request.id, status: 'queued', jobId: await this.jobIds.sign(job) };
  }
}
