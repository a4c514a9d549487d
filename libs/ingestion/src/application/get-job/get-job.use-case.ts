import { Injectable } from '@nestjs/common';
import { AppError, type JobRef, type JobView } from '#contracts';
import { JOB_NOT_FOUND } from '../../domain/ingestion.errors.js';
import { JobIdSigner } from '../../infrastructure/job-id.signer.js';
import { IngestionViewRepository } from '../../infrastructure/ingestion-views.repository.js';

/**
 * A job's state, read from its document's row (the database is the source of truth, whichever queue
 * carried the job). Versions only grow, so an older version than the row's was superseded.
 */
@Injectable()
export class GetJobUseCase {
  constructor(
    private readonly views: IngestionViewRepository,
    private readonly jobIds: JobIdSigner,
  ) {}

  async execute(request: JobRef): Promise<JobView> {
    // An id without this database's tag (made up, or of the unsigned form before issue 21) names nothing.
    const job = await this.jobIds.verify(request.jobId);
    const document = job && (await this.views.documentState(job.documentId));
    // A deleted document's jobs are gone with it; a version it never reached never existed.
    if (!job || !document || job.version > document.version)
      throw new AppError(JOB_NOT_FOUND, `job "${request.jobId}" does not exist`);
    const current = job.version === document.version;
    return {
      jobId: request.jobId,
      collection: document.collection,
      documentId: document.externalId,
      version: job.version,
      status: current ? document.status : 'superseded',
      // The row's stage, progress and error belong to its current version only.
      ...(current && document.stage ? { stage: document.stage } : {}),
      ...(current ? { progress: document.progress } : {}),
      ...(current && document.error ? { error: document.error } : {}),
      updatedAt: document.updatedAt,
      current,
    };
  }
}
