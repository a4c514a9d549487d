import { Injectable } from '@nestjs/common';
import { AppError, type JobRef, type JobView } from '#contracts';
import { parseJobId } from '../../domain/document-job.js';
import { JOB_NOT_FOUND } from '../../domain/ingestion.errors.js';
import { IngestionViewRepository } from '../../infrastructure/ingestion-views.repository.js';

/**
 * A job's state, read from its document's row (the database is the source of truth, whichever queue
 * carried the job). Versions only grow, so an older version than the row's was superseded.
 */
@Injectable()
export class GetJobUseCase {
  constructor(private readonly views: IngestionViewRepository) {}

  async execute(request: JobRef): Promise<JobView> {
    const job = parseJobId(request.jobId);
    const document = await this.views.documentState(job.documentId);
    // A deleted document's jobs are gone with it; a version it never reached never existed.
    if (!document || job.version > document.version)
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
